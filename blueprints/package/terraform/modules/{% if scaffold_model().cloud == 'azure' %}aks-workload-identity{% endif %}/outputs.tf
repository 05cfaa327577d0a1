output "client_id" {
  description = "Client id for the annotation azure.workload.identity/client-id."
  value       = azurerm_user_assigned_identity.this.client_id
}

output "principal_id" {
  description = "Principal id, for role assignments such as AcrPull."
  value       = azurerm_user_assigned_identity.this.principal_id
}

output "federated_subject" {
  description = "The Kubernetes service account the federated credential trusts."
  value       = azurerm_federated_identity_credential.this.subject
}
