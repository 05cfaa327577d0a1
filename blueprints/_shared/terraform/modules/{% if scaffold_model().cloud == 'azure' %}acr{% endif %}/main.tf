# The service's container registry: Premium for private access, quarantine,
# content trust, retention and geo-replication; no admin user, no anonymous pull.
resource "azurerm_container_registry" "this" {
  name                          = var.name
  resource_group_name           = var.resource_group_name
  location                      = var.location
  sku                           = "Premium"
  admin_enabled                 = false
  anonymous_pull_enabled        = false
  public_network_access_enabled = false
  data_endpoint_enabled         = true
  export_policy_enabled         = false
  quarantine_policy_enabled     = true
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
