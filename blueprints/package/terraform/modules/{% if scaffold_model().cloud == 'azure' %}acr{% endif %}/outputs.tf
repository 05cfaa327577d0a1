output "login_server" {
  description = "Registry host to push to and to set as image_registry."
  value       = azurerm_container_registry.this.login_server
}

output "id" {
  description = "Resource id of the registry, for AcrPull role assignments."
  value       = azurerm_container_registry.this.id
}
