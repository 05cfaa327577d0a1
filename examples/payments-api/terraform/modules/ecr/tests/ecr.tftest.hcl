mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = {
      account_id = "123456789012"
    }
  }

  override_data {
    target = data.aws_partition.current
    values = {
      partition = "aws"
    }
  }
}

variables {
  name = "payments-api"
}

run "registry_is_immutable_scanned_and_encrypted" {
  command = apply

  assert {
    condition     = aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE"
    error_message = "tags must be immutable: CD promotes by digest"
  }

  assert {
    condition     = one(aws_ecr_repository.this.image_scanning_configuration).scan_on_push == true
    error_message = "every pushed image must be scanned"
  }

  assert {
    condition     = one(aws_ecr_repository.this.encryption_configuration).encryption_type == "KMS"
    error_message = "the repository must be encrypted with KMS"
  }

  assert {
    condition     = one(aws_ecr_repository.this.encryption_configuration).kms_key == aws_kms_key.this.arn
    error_message = "the repository must use its own customer-managed key"
  }

  assert {
    condition     = aws_kms_key.this.enable_key_rotation == true
    error_message = "the key must rotate"
  }
}

run "lifecycle_keeps_the_newest_images" {
  command = apply

  variables {
    max_image_count = 50
  }

  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[0].selection.countType == "imageCountMoreThan"
    error_message = "the lifecycle rule must count images"
  }

  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[0].selection.countNumber == 50
    error_message = "the lifecycle rule must keep max_image_count images"
  }

  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[0].action.type == "expire"
    error_message = "older images must expire"
  }
}
