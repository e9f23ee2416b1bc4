# OCI Cache (managed Redis): rate limits, the card vault and idempotency shared by every worker.
resource "oci_redis_redis_cluster" "cache" {
  compartment_id     = var.compartment_ocid
  display_name       = "${var.name}-cache"
  node_count         = var.cache_node_count
  node_memory_in_gbs = var.cache_memory_gbs
  software_version   = "V7_0_5"
  subnet_id          = oci_core_subnet.private.id
}
