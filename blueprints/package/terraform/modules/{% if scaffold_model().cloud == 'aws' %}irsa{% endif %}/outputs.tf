output "role_arn" {
  description = "Role ARN for the service account annotation eks.amazonaws.com/role-arn."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Role name, to attach further policies."
  value       = aws_iam_role.this.name
}

output "trust_policy" {
  description = "Trust policy of the role (JSON): who may assume it; the tests read the bound subject here."
  value       = aws_iam_role.this.assume_role_policy
}
