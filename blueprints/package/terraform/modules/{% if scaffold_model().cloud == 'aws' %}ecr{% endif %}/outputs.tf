output "repository_url" {
  description = "Registry URL to push to and to set as image_registry/<name>."
  value       = aws_ecr_repository.this.repository_url
}

output "repository_arn" {
  description = "ARN of the repository, for IAM policies that push or pull."
  value       = aws_ecr_repository.this.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the repository."
  value       = aws_kms_key.this.arn
}
