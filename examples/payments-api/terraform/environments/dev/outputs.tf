output "namespace" {
  description = "Namespace the GitOps controller deploys dev into."
  value       = var.namespace
}

output "registry_url" {
  description = "ECR repository URL (null outside production)."
  value       = try(module.registry[0].repository_url, null)
}

output "workload_role_arn" {
  description = "Annotate the service account with eks.amazonaws.com/role-arn set to this."
  value       = module.workload_identity.role_arn
}
