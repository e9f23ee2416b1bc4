output "cluster_id" {
  value = oci_containerengine_cluster.main.id
}

output "store_url_hint" {
  description = "SHOPKEEP_STORE_URL for the chart's secrets.storeUrl (put the ADMIN password or an app user in)."
  value       = "oracle+oracledb://ADMIN:<password>@${oci_database_autonomous_database.store.private_endpoint}:1522/?service_name=shopkeep_low.adb.oraclecloud.com"
}

output "redis_url" {
  description = "SHOPKEEP_REDIS_URL for the chart's secrets.redisUrl (OCI Cache speaks TLS)."
  value       = "rediss://${oci_redis_redis_cluster.cache.primary_fqdn}:6379/0"
}
