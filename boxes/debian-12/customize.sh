#!/usr/bin/env bash
# Configures the guest root file system at $1 (called by mmdebstrap's
# customize hook). Needs ROOT_UUID and FILES in the environment.
set -euo pipefail
root=${1:?usage: customize.sh ROOTFS}
: "${ROOT_UUID:?}" "${FILES:?}"

# Identity and mounts
echo "debian-12" > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian-12\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
printf 'UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n' "$ROOT_UUID" > "$root/etc/fstab"

# Boot: extlinux reads /boot/extlinux/extlinux.conf; the kernel and initrd
# links in / are kept current by the kernel package.
mkdir -p "$root/boot/extlinux"
cat > "$root/boot/extlinux/extlinux.conf" <<EOF
DEFAULT debian
TIMEOUT 1
PROMPT 0
LABEL debian
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=UUID=$ROOT_UUID ro console=tty0 console=ttyS0,115200n8 net.ifnames=0 quiet
EOF

# Network: DHCP on the first NIC through systemd-networkd
install -m 0644 "$FILES/10-dhcp.network" "$root/etc/systemd/network/10-dhcp.network"
chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1

# The vagrant user: passwordless sudo, Vagrant's published insecure public keys
chroot "$root" useradd --create-home --shell /bin/bash --user-group vagrant
echo 'vagrant:vagrant' | chroot "$root" chpasswd
printf 'vagrant ALL=(ALL) NOPASSWD: ALL\nDefaults:vagrant !requiretty\n' > "$root/etc/sudoers.d/vagrant"
chmod 0440 "$root/etc/sudoers.d/vagrant"
install -d -m 0700 -o 1000 -g 1000 "$root/home/vagrant/.ssh"
install -m 0600 -o 1000 -g 1000 "$FILES/vagrant-insecure.pub" "$root/home/vagrant/.ssh/authorized_keys"

# sshd: no reverse DNS, host keys made on first boot (every machine its own)
printf 'UseDNS no\n' > "$root/etc/ssh/sshd_config.d/caravan.conf"
rm -f "$root"/etc/ssh/ssh_host_*
install -m 0644 "$FILES/ssh-host-keys.service" "$root/etc/systemd/system/ssh-host-keys.service"
chroot "$root" systemctl enable ssh-host-keys.service >/dev/null 2>&1

# Quiet, offline-friendly guest: no clock sync or apt timers phoning out
for unit in systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer; do
  chroot "$root" systemctl disable "$unit" >/dev/null 2>&1 || true
done
rm -f "$root/etc/machine-id" && : > "$root/etc/machine-id"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
