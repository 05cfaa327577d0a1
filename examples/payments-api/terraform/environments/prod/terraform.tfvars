# Values for prod, derived from the answers; edit the cloud
# placement (region, project, cluster) to match your accounts.
service_name    = "payments-api"
environment     = "prod"
namespace       = "payments-api-prod"
aws_region      = "eu-west-1"
cluster_name    = "platform-prod"
service_account = "payments-api"
identity_name   = "payments-api-prod"
create_registry = false
registry_name   = "payments-api"
