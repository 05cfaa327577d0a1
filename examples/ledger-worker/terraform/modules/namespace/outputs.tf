output "name" {
  description = "The namespace name, for resources that must wait for the namespace."
  value       = kubernetes_namespace_v1.this.metadata[0].name
}

output "quota_name" {
  description = "Name of the ResourceQuota in the namespace."
  value       = kubernetes_resource_quota_v1.this.metadata[0].name
}

output "limit_range_name" {
  description = "Name of the LimitRange in the namespace."
  value       = kubernetes_limit_range_v1.this.metadata[0].name
}
