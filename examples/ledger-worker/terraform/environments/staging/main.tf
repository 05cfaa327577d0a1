# Terraform owns the cloud side only. The namespace ledger-worker-staging, its
# ResourceQuota and LimitRange belong to GitOps (k8s/base/namespace.yaml via
# k8s/overlays/staging); here the namespace is only a name to bind to.

locals {
  tags = {
    service     = var.service_name
    environment = var.environment
    managed-by  = "terraform"
  }
}

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = local.tags
}

# The registry lives with production; every environment pulls the same digest.
module "registry" {
  source = "../../modules/artifact-registry"
  count  = var.create_registry ? 1 : 0

  project_id    = var.project_id
  location      = var.region
  repository_id = var.registry_name
  labels        = local.tags
}

module "workload_identity" {
  source = "../../modules/gke-workload-identity"

  project_id      = var.project_id
  account_id      = var.identity_name
  namespace       = var.namespace
  service_account = var.service_account
}
