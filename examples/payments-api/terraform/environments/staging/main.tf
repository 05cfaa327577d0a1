locals {
  tags = {
    service     = var.service_name
    environment = var.environment
    managed-by  = "terraform"
  }
}

provider "kubernetes" {
  config_path    = var.kubeconfig_path
  config_context = var.kube_context
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

module "namespace" {
  source = "../../modules/namespace"

  name                   = var.namespace
  labels                 = var.labels
  quota_requests_cpu     = var.quota_requests_cpu
  quota_limits_cpu       = var.quota_limits_cpu
  quota_requests_memory  = var.quota_requests_memory
  quota_limits_memory    = var.quota_limits_memory
  quota_pods             = var.quota_pods
  default_request_cpu    = var.default_request_cpu
  default_request_memory = var.default_request_memory
  default_limit_cpu      = var.default_limit_cpu
  default_limit_memory   = var.default_limit_memory
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
  namespace       = module.namespace.name
  service_account = var.service_account
  tags            = local.tags
}
