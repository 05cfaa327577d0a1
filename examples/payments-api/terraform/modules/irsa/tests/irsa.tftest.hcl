mock_provider "aws" {
  override_data {
    target = data.aws_eks_cluster.this
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
    target = data.aws_iam_openid_connect_provider.this
    values = {
      arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    }
  }
}

variables {
  name            = "payments-api-dev"
  cluster_name    = "platform-dev"
  namespace       = "payments-api-dev"
  service_account = "payments-api"
}

run "trust_is_bound_to_the_service_account" {
  command = apply

  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"] == "system:serviceaccount:payments-api-dev:payments-api"
    error_message = "the role must trust only the service account payments-api-dev/payments-api"
  }

  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud"] == "sts.amazonaws.com"
    error_message = "the role must trust only tokens meant for STS"
  }

  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Action == "sts:AssumeRoleWithWebIdentity"
    error_message = "the role must be assumable by web identity only"
  }

  assert {
    condition     = length(aws_iam_role_policy_attachment.this) == 0
    error_message = "no policy is attached by default (least privilege)"
  }
}
