# Values for prod, derived from the answers; edit the cloud
# placement (region, project, cluster) to match your accounts.
service_name           = "ledger-worker"
environment            = "prod"
namespace              = "ledger-worker-prod"
kube_context           = "platform-prod"
labels                 = {
  "app.kubernetes.io/component"  = "worker"
  "app.kubernetes.io/instance"   = "ledger-worker"
  "app.kubernetes.io/managed-by" = "kustomize"
  "app.kubernetes.io/name"       = "ledger-worker"
  "app.kubernetes.io/part-of"    = "ledger-worker"
  "scaffold.dev/environment"     = "prod"
  "scaffold.dev/team"            = "platform"
}
quota_requests_cpu     = "2000m"
quota_limits_cpu       = "8000m"
quota_requests_memory  = "2560Mi"
quota_limits_memory    = "5Gi"
quota_pods             = 25
default_request_cpu    = "100m"
default_request_memory = "128Mi"
default_limit_cpu      = "400m"
default_limit_memory   = "256Mi"
project_id             = "platform-prod"
region                 = "europe-west1"
service_account        = "ledger-worker"
identity_name          = "ledger-worker-prod"
create_registry        = true
registry_name          = "ledger-worker"
