#!/bin/sh
# Starts dockerd in a privileged container (what Docker's own dind image does,
# plus kc's runtime and address choices).
set -eu

# cgroup v2: the container's processes move to a child group, so that the root
# group can delegate its controllers to the containers this engine runs.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
  sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control || :
fi
mount -t securityfs none /sys/kernel/security 2>/dev/null || :

# docker0 and the networks this engine makes must not take the host's
# 172.17/16 (or kc's 172.30/16 cluster range): they would shadow the host's
# own networks from inside this engine.
bip=${KC_ENGINE_BIP:-10.211.0.1/24}
pool=${KC_ENGINE_POOL:-10.212.0.0/16}
mkdir -p /etc/docker
printf '{"runtimes":{"kc-runc":{"path":"/usr/local/libexec/kc/runc-capfilter"}}}\n' >/etc/docker/daemon.json
exec dockerd \
  -H tcp://0.0.0.0:2375 -H unix:///var/run/docker.sock \
  --bip "$bip" --default-address-pool "base=$pool,size=24" \
  "$@"
