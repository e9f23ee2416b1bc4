# Shopkeep on Oracle Cloud: OKE (Kubernetes) for the API, Autonomous Database 23ai for the store, checkpoints and
# vectors, OCI Cache (Redis) for rate limits, the card vault and idempotency, and the policy that lets the worker
# nodes call OCI Generative AI. Authentication is the OCI provider's own (~/.oci/config, or OCI_* variables).
terraform {
  required_version = ">= 1.5"
  required_providers {
    oci = {
      source  = "oracle/oci"
      version = ">= 6.0"
    }
  }
}

provider "oci" {
  region = var.region
}
