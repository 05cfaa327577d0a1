output "email" {
  description = "Service account email for the annotation iam.gke.io/gcp-service-account."
  value       = google_service_account.this.email
}

output "name" {
  description = "Full resource name of the Google service account."
  value       = google_service_account.this.name
}

output "workload_identity_member" {
  description = "The Kubernetes service account granted roles/iam.workloadIdentityUser."
  value       = google_service_account_iam_member.workload_identity.member
}
