output "namespace" {
  description = "Namespace the GitOps controller deploys staging into."
  value       = var.namespace
}

output "registry_url" {
  description = "Artifact Registry path (null outside production)."
  value       = try(module.registry[0].repository_url, null)
}

output "workload_service_account" {
  description = "Annotate the service account with iam.gke.io/gcp-service-account set to this."
  value       = module.workload_identity.email
}
