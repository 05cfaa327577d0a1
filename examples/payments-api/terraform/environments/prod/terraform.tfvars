# Values for prod, derived from the answers; edit the cloud
# placement (region, project, cluster) to match your accounts.
service_name           = "payments-api"
environment            = "prod"
namespace              = "payments-api-prod"
kube_context           = "platform-prod"
labels                 = {
  "app.kubernetes.io/component"  = "service"
  "app.kubernetes.io/instance"   = "payments-api"
  "app.kubernetes.io/managed-by" = "kustomize"
  "app.kubernetes.io/name"       = "payments-api"
  "app.kubernetes.io/part-of"    = "payments-api"
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
aws_region             = "eu-west-1"
cluster_name           = "platform-prod"
service_account        = "payments-api"
identity_name          = "payments-api-prod"
create_registry        = true
registry_name          = "payments-api"
