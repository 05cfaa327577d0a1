mock_provider "aws" {
  override_data {
    target = module.workload_identity.data.aws_eks_cluster.this
    values = {
      identity = [
        {
          oidc = [
            {
              issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
            },
          ]
        },
      ]
    }
  }

  override_data {
    target = module.workload_identity.data.aws_iam_openid_connect_provider.this
    values = {
      arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    }
  }
}

run "prod_is_wired_to_its_namespace_state_and_identity" {
  command = apply

  assert {
    condition     = var.environment == "prod"
    error_message = "this root must manage prod"
  }

  assert {
    condition     = output.namespace == "payments-api-prod"
    error_message = "prod binds to the namespace its overlay deploys into"
  }

  assert {
    condition     = can(regex("(?m)^\\s*key\\s*=\\s*\"payments\\-api/prod/terraform\\.tfstate\"", file("${path.module}/versions.tf")))
    error_message = "the state of prod must live under its own key payments-api/prod/terraform.tfstate"
  }

  assert {
    condition     = length(module.registry) == 0
    error_message = "only production creates a registry, and only the one CI pushes to"
  }

  assert {
    condition     = jsondecode(module.workload_identity.trust_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"] == "system:serviceaccount:payments-api-prod:payments-api"
    error_message = "the role must trust only the service account payments-api-prod/payments-api"
  }

  assert {
    condition     = jsondecode(module.workload_identity.trust_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud"] == "sts.amazonaws.com"
    error_message = "the role must trust only tokens meant for STS"
  }
}
