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

run "dev_is_wired_to_its_namespace_state_and_identity" {
  command = apply

  assert {
    condition     = var.environment == "dev"
    error_message = "this root must manage dev"
  }

  assert {
    condition     = output.namespace == "payments-api-dev"
    error_message = "dev binds to the namespace its overlay deploys into"
  }

  assert {
    condition     = can(regex("(?m)^\\s*key\\s*=\\s*\"payments\\-api/dev/terraform\\.tfstate\"", file("${path.module}/versions.tf")))
    error_message = "the state of dev must live under its own key payments-api/dev/terraform.tfstate"
  }

  assert {
    condition     = length(module.registry) == 0
    error_message = "CI pushes to image_registry outside this cloud: no registry here"
  }

  assert {
    condition     = jsondecode(module.workload_identity.trust_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"] == "system:serviceaccount:payments-api-dev:payments-api"
    error_message = "the role must trust only the service account payments-api-dev/payments-api"
  }

  assert {
    condition     = jsondecode(module.workload_identity.trust_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud"] == "sts.amazonaws.com"
    error_message = "the role must trust only tokens meant for STS"
  }
}
