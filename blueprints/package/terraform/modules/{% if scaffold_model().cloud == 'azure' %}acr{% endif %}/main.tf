# The service's container registry: Premium for retention, content trust and
# geo-replication; no admin user, no anonymous pull. Usable as generated: CI pushes
# from GitHub-hosted runners over the public endpoint (authenticated, Entra ID only),
# and quarantine stays off, since quarantined images cannot be pulled until a
# scanner releases them and nothing in this package releases them.
resource "azurerm_container_registry" "this" {
  #checkov:skip=CKV_AZURE_139: GitHub-hosted runners push over the public endpoint; access is Entra ID only (no admin user, no anonymous pull)
  #checkov:skip=CKV_AZURE_166: quarantined images cannot be pulled until a scanner releases them; CI's Trivy gate and cosign vuln attestation play that role
  name                          = var.name
  resource_group_name           = var.resource_group_name
  location                      = var.location
  sku                           = "Premium"
  admin_enabled                 = false
  anonymous_pull_enabled        = false
  public_network_access_enabled = true
  data_endpoint_enabled         = true
  export_policy_enabled         = false
  quarantine_policy_enabled     = false
  trust_policy_enabled          = true
  retention_policy_in_days      = var.retention_days
  zone_redundancy_enabled       = true
  tags                          = var.tags

  georeplications {
    location                = var.replica_location
    zone_redundancy_enabled = true
    tags                    = var.tags
  }
}
