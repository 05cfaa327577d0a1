# Terraform owns the cloud side only. The namespace payments-api-dev, its
# ResourceQuota and LimitRange belong to GitOps (k8s/base/namespace.yaml via
# k8s/overlays/dev); here the namespace is only a name to bind to.

locals {
  tags = {
    service     = var.service_name
    environment = var.environment
    managed-by  = "terraform"
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

# The registry lives with production; every environment pulls the same digest.
module "registry" {
  source = "../../modules/ecr"
  count  = var.create_registry ? 1 : 0

  name = var.registry_name
  tags = local.tags
}

module "workload_identity" {
  source = "../../modules/irsa"

  name            = var.identity_name
  cluster_name    = var.cluster_name
  namespace       = var.namespace
  service_account = var.service_account
  tags            = local.tags
}
