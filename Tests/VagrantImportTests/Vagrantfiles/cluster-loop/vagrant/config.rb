# Overrides, as kubespray's vagrant/config.rb.
$num_instances = 3
$vm_memory = 3072
