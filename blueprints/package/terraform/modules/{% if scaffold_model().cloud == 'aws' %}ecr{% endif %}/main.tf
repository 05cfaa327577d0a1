# The service's image repository: immutable tags (CD promotes by digest), scan
# on push, and encryption with a customer-managed, rotated KMS key.
data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

resource "aws_kms_key" "this" {
  description             = "ECR encryption key for ${var.name}"
  deletion_window_in_days = var.kms_deletion_window_days
  enable_key_rotation     = true
  tags                    = var.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministers"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/ecr/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.this.arn
  }
}

# Never expires a tagged image. Every CI build is tagged sha-<commit>, and its cosign
# signature and attestations are tagged sha256-<digest>.sig/.att: the registry cannot know
# which digest an environment runs (production may run a digest many builds old, and a
# rollback needs the previous one), so a count over all images could expire a deployed
# digest or the signature admission verifies. Only untagged manifests (tags deleted by
# hand, superseded referrers) are capped; prune tagged images deliberately (SECURITY.md).
resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the newest ${var.max_image_count} untagged images; tagged images never expire"
      selection = {
        tagStatus   = "untagged"
        countType   = "imageCountMoreThan"
        countNumber = var.max_image_count
      }
      action = { type = "expire" }
    }]
  })
}
