variable "tenancy_ocid" {
  description = "The tenancy (dynamic groups and their policies live at its root)."
  type        = string
}

variable "compartment_ocid" {
  description = "The compartment every Shopkeep resource goes in."
  type        = string
}

variable "region" {
  description = "An OCI region with Generative AI, e.g. us-chicago-1."
  type        = string
  default     = "us-chicago-1"
}

variable "name" {
  description = "Prefix of every resource's display name."
  type        = string
  default     = "shopkeep"
}

variable "vcn_cidr" {
  type    = string
  default = "10.20.0.0/16"
}

variable "kubernetes_version" {
  type    = string
  default = "v1.33.1"
}

variable "node_shape" {
  type    = string
  default = "VM.Standard.E5.Flex"
}

variable "node_ocpus" {
  type    = number
  default = 2
}

variable "node_memory_gbs" {
  type    = number
  default = 16
}

variable "node_count" {
  type    = number
  default = 3
}

variable "node_image_id" {
  description = "An Oracle Linux OKE worker image for the Kubernetes version (oci ce node-pool-options get)."
  type        = string
}

variable "adb_admin_password" {
  description = "ADMIN password of the Autonomous Database (12-30 characters, upper, lower case and a digit)."
  type        = string
  sensitive   = true
}

variable "adb_compute_count" {
  description = "ECPUs of the Autonomous Database."
  type        = number
  default     = 2
}

variable "adb_storage_tbs" {
  type    = number
  default = 1
}

variable "cache_node_count" {
  type    = number
  default = 2
}

variable "cache_memory_gbs" {
  type    = number
  default = 2
}
