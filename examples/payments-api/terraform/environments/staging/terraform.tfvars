# Values for staging, derived from the answers; edit the cloud
# placement (region, project, cluster) to match your accounts.
service_name    = "payments-api"
environment     = "staging"
namespace       = "payments-api-staging"
aws_region      = "eu-west-1"
cluster_name    = "platform-staging"
service_account = "payments-api"
identity_name   = "payments-api-staging"
create_registry = false
registry_name   = "payments-api"
