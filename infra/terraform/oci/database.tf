# Autonomous Database 23ai: the commerce store, the conversation checkpoints and the vectors (AI Vector Search),
# reachable only from the VCN (private endpoint). Shopkeep connects with python-oracledb in thin mode (TLS).
resource "oci_database_autonomous_database" "store" {
  compartment_id              = var.compartment_ocid
  display_name                = "${var.name}-store"
  db_name                     = "shopkeep"
  db_version                  = "23ai"
  db_workload                 = "OLTP"
  compute_model               = "ECPU"
  compute_count               = var.adb_compute_count
  data_storage_size_in_tbs    = var.adb_storage_tbs
  admin_password              = var.adb_admin_password
  is_auto_scaling_enabled     = true
  is_mtls_connection_required = false
  subnet_id                   = oci_core_subnet.private.id
  private_endpoint_label      = "shopkeepdb"
}
