# Values for dev, derived from the answers; edit the cloud
# placement (region, project, cluster) to match your accounts.
service_name    = "payments-api"
environment     = "dev"
namespace       = "payments-api-dev"
aws_region      = "eu-west-1"
cluster_name    = "platform-dev"
service_account = "payments-api"
identity_name   = "payments-api-dev"
create_registry = false
registry_name   = "payments-api"
