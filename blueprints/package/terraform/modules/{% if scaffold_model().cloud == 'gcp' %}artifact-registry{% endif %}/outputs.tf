output "repository_url" {
  description = "Registry path to push to and to set as image_registry."
  value       = "${var.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.this.repository_id}"
}

output "repository_id" {
  description = "Full resource id of the repository, for IAM bindings."
  value       = google_artifact_registry_repository.this.id
}

output "kms_key_id" {
  description = "Id of the KMS key that encrypts the repository."
  value       = google_kms_crypto_key.this.id
}
