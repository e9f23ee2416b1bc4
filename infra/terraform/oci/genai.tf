# OCI Generative AI for the worker nodes (SHOPKEEP_LLM__PROVIDER=oci, SHOPKEEP_LLM__OCI_AUTH_TYPE=INSTANCE_PRINCIPAL):
# the nodes of this compartment form a dynamic group allowed to use the generative-ai family here, nothing more.
resource "oci_identity_dynamic_group" "workers" {
  compartment_id = var.tenancy_ocid
  name           = "${var.name}-oke-workers"
  description    = "Shopkeep's OKE worker nodes"
  matching_rule  = "ALL {instance.compartment.id = '${var.compartment_ocid}'}"
}

resource "oci_identity_policy" "generative_ai" {
  compartment_id = var.compartment_ocid
  name           = "${var.name}-generative-ai"
  description    = "Shopkeep's workers call OCI Generative AI (chat and embeddings)"
  statements = [
    "Allow dynamic-group ${oci_identity_dynamic_group.workers.name} to use generative-ai-family in compartment id ${var.compartment_ocid}",
  ]
}
