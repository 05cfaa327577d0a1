output "role_arn" {
  description = "Role ARN for the service account annotation eks.amazonaws.com/role-arn."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Role name, to attach further policies."
  value       = aws_iam_role.this.name
}
