import Foundation
import Host
import Spec
import Support

/// How the guest configures one of its extra NICs, found by its MAC address.
public struct GuestInterface: Sendable, Equatable {
  public enum Mode: Sendable, Equatable {
    /// An IPv4 or IPv6 address of its own.
    case `static`(IPAddress, prefix: Int)
    /// IPv4 DHCP.
    case dhcp
  }
  public var mac: String
  public var mode: Mode
  /// Whether to wait (with a deadline) for the address: a private network's is
  /// written to the other machines' `/etc/hosts`; a public bridge's DHCP is left to run.
  public var waitForAddress: Bool

  public init(mac: String, mode: Mode, waitForAddress: Bool) {
    self.mac = mac
    self.mode = mode
    self.waitForAddress = waitForAddress
  }
}

/// The shell scripts Caravan runs in a guest (as root, `sh -s`) for its networks:
/// the NICs' configuration, written for whatever manages the guest's network
/// (systemd-networkd when enabled, else NetworkManager when it runs, else
/// ifupdown) and brought up at once; and the `/etc/hosts` block naming every
/// machine of the project.
public enum GuestNetworkScript {
  /// How long the script waits for a NIC to show up, and then for its address.
  public static let deadlineSeconds = 30

  /// A `caravan-address MAC INTERFACE ADDRESS/PREFIX` line per NIC (`-` for a
  /// DHCP address not there yet); exits non-zero naming what failed.
  /// The script arrives on the shell's standard input: it is all one function,
  /// read whole before it runs, and runs with its standard input closed, so no
  /// command in it can read the rest of the script.
  public static func configure(_ interfaces: [GuestInterface]) -> String {
    var script = prelude + "caravan_main() {\n  detect\n"
    for interface in interfaces {
      let wait = interface.waitForAddress ? "yes" : "no"
      switch interface.mode {
      case .static(.v4(let address), let prefix):
        let netmask = IPv4Subnet(containing: address, prefix: prefix).netmask
        script += "  configure \(interface.mac) static \(address) \(prefix) \(netmask) \(wait)\n"
      case .static(.v6(let address), let prefix):
        script += "  configure \(interface.mac) static6 \(address) \(prefix) - \(wait)\n"
      case .dhcp:
        script += "  configure \(interface.mac) dhcp - - - \(wait)\n"
      }
    }
    return script + "  forget_others\n}\ncaravan_main </dev/null\n"
  }

  /// The parsed `caravan-address` lines: MAC → (interface, address with prefix or nil).
  public static func addresses(in output: String) -> [String: (interface: String, address: String?)] {
    var result: [String: (interface: String, address: String?)] = [:]
    for line in output.split(separator: "\n") {
      let words = line.split(separator: " ").map(String.init)
      guard words.count == 4, words[0] == "caravan-address" else { continue }
      result[words[1]] = (words[2], words[3] == "-" ? nil : words[3])
    }
    return result
  }

  static let hostsBegin = "# caravan: machines of the project, begin"
  static let hostsEnd = "# caravan: machines of the project, end"

  /// Replaces Caravan's block of `/etc/hosts` (the rest of the file is kept) with
  /// a line per address: `ADDRESS NAME…`.
  public static func hosts(_ entries: [(address: String, names: [String])], file: String = "/etc/hosts") -> String {
    let lines = entries.map { "\($0.address)\t\($0.names.joined(separator: " "))" }
    return """
      set -eu
      hosts=\(shellQuote(file))
      tmp=$(mktemp)
      awk '$0 == "\(hostsBegin)" { skip = 1; next } $0 == "\(hostsEnd)" { skip = 0; next } !skip' "$hosts" > "$tmp"
      cat >> "$tmp" <<'CARAVAN_HOSTS'
      \(([hostsBegin] + lines + [hostsEnd]).joined(separator: "\n"))
      CARAVAN_HOSTS
      cat "$tmp" > "$hosts"
      rm -f "$tmp"

      """
  }

  static let prelude = #"""
    set -u
    say() { echo "caravan-network: $*"; }
    fail() { echo "caravan-network: $*" >&2; exit 1; }
    deadline=\#(deadlineSeconds)
    iface_with() {
      for dir in /sys/class/net/*; do
        if [ "$(cat "$dir/address" 2>/dev/null)" = "$1" ]; then echo "${dir##*/}"; return 0; fi
      done
      return 1
    }
    # What manages the network: the same order as the boxes' network.sh.
    detect() {
      if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled systemd-networkd.service >/dev/null 2>&1; then
        manager=networkd; dir=/etc/systemd/network
      elif command -v nmcli >/dev/null 2>&1 && nmcli -t -f RUNNING general 2>/dev/null | grep -qx running; then
        manager=NetworkManager; dir=/etc/NetworkManager/system-connections
      elif command -v ifup >/dev/null 2>&1; then
        manager=ifupdown; dir=/etc/network/interfaces.d
      else
        fail "nothing manages the network in this guest: no systemd-networkd, NetworkManager or ifupdown"
      fi
      mkdir -p "$dir"
      say "the network is managed by $manager"
    }
    keep=""
    # write_file FILE MODE: standard input into FILE; succeeds only when the file changed.
    write_file() {
      cat > "$1.caravan-new"
      if cmp -s "$1.caravan-new" "$1"; then rm -f "$1.caravan-new"; return 1; fi
      chmod "$2" "$1.caravan-new" && mv "$1.caravan-new" "$1"
    }
    # addresses IFACE: its global addresses of the family being configured ($family: 4 or 6).
    addresses() { ip -"$family" -o addr show dev "$1" scope global 2>/dev/null | awk '{ print $4 }'; }
    # has_address IFACE: it has the static address wanted, or (DHCP) any address.
    has_address() {
      if [ -n "$want" ]; then addresses "$1" | grep -qxF "$want"; else [ -n "$(addresses "$1")" ]; fi
    }
    configure() {  # MAC static|static6|dhcp ADDRESS PREFIX NETMASK WAIT(yes|no)
      mac=$1 mode=$2 address=$3 prefix=$4 netmask=$5 wait=$6
      family=4
      [ "$mode" = static6 ] && family=6
      id=caravan-$(echo "$mac" | tr -d :)
      keep="$keep $id"
      tries=0
      until iface=$(iface_with "$mac"); do
        tries=$((tries + 1))
        [ $tries -le $((deadline * 5)) ] || fail "no network interface has the MAC address $mac after $deadline s"
        sleep 0.2
      done
      want=""
      [ "$mode" != dhcp ] && want="$address/$prefix"
      changed=no
      case $manager in
      networkd)
        if [ "$mode" = dhcp ]; then line="DHCP=ipv4"; else line="Address=$want"; fi
        # IPv6 neighbour discovery wants the link-local address; IPv4 needs none.
        linklocal=no
        [ $family = 6 ] && linklocal=ipv6
        printf '[Match]\nMACAddress=%s\n\n[Network]\n%s\nLinkLocalAddressing=%s\nIPv6AcceptRA=no\n' "$mac" "$line" "$linklocal" \
          | write_file "$dir/05-$id.network" 0644 && changed=yes
        if [ $changed = yes ] || ! has_address "$iface"; then
          { networkctl reload && networkctl reconfigure "$iface"; } >/dev/null 2>&1 \
            || systemctl restart systemd-networkd.service || fail "systemd-networkd did not take $dir/05-$id.network"
        fi
        ;;
      NetworkManager)
        case $mode in
        static) ipv4="method=manual
    address1=$want
    never-default=true" ipv6="method=ignore" ;;
        static6) ipv4="method=disabled" ipv6="method=manual
    address1=$want
    never-default=true" ;;
        *) ipv4="method=auto
    never-default=true" ipv6="method=ignore" ;;
        esac
        printf '[connection]\nid=%s\ntype=ethernet\nautoconnect=true\n\n[ethernet]\nmac-address=%s\n\n[ipv4]\n%s\n\n[ipv6]\n%s\n' \
          "$id" "$mac" "$ipv4" "$ipv6" | write_file "$dir/$id.nmconnection" 0600 && changed=yes
        if [ $changed = yes ] || ! has_address "$iface"; then
          nmcli connection reload || fail "NetworkManager did not read $dir/$id.nmconnection"
          if [ "$mode" != dhcp ]; then
            timeout "$deadline" nmcli connection up id "$id" >/dev/null || fail "NetworkManager could not bring up $id on $iface"
          else
            nmcli --wait 0 connection up id "$id" >/dev/null 2>&1 || true
          fi
        fi
        ;;
      ifupdown)
        if ! grep -Eq '^[[:space:]]*source(-directory)?[[:space:]]+/etc/network/interfaces\.d' /etc/network/interfaces 2>/dev/null; then
          printf '\nsource /etc/network/interfaces.d/*\n' >> /etc/network/interfaces
        fi
        if [ "$mode" = static ]; then
          printf '# Made by Caravan (MAC %s)\nauto %s\niface %s inet static\n    address %s\n    netmask %s\n' \
            "$mac" "$iface" "$iface" "$address" "$netmask"
        elif [ "$mode" = static6 ]; then
          printf '# Made by Caravan (MAC %s)\nauto %s\niface %s inet6 static\n    address %s\n    netmask %s\n' \
            "$mac" "$iface" "$iface" "$address" "$prefix"
        else
          # allow-hotplug: a boot does not wait for the lease either.
          printf '# Made by Caravan (MAC %s)\nallow-hotplug %s\niface %s inet dhcp\n' "$mac" "$iface" "$iface"
        fi | write_file "$dir/$id" 0644 && changed=yes
        if [ $changed = yes ] || ! has_address "$iface"; then
          ifdown --force "$iface" >/dev/null 2>&1
          if [ "$mode" != dhcp ]; then
            timeout "$deadline" ifup "$iface" || fail "ifup $iface failed (see $dir/$id)"
          else
            # DHCP keeps asking in the background: nothing waits for a lease here.
            (setsid ifup "$iface" >/dev/null 2>&1 &)
          fi
        fi
        ;;
      esac
      found=""
      if [ "$wait" = yes ]; then
        tries=0
        while [ $tries -lt $((deadline * 5)) ]; do
          if has_address "$iface"; then
            found=${want:-$(addresses "$iface" | head -n 1)}
            break
          fi
          tries=$((tries + 1))
          sleep 0.2
        done
        if [ -z "$found" ] && [ "$mode" != dhcp ]; then
          fail "$iface (MAC $mac) did not get $want within $deadline s ($manager)"
        fi
      fi
      say "$iface (MAC $mac): ${want:-DHCP}"
      echo "caravan-address $mac $iface ${found:--}"
    }
    # Configuration Caravan wrote for NICs the machine no longer has.
    forget_others() {
      for file in "$dir"/*caravan-*; do
        [ -e "$file" ] || continue
        name=${file##*/}; name=${name#05-}; name=${name%.network}; name=${name%.nmconnection}
        case " $keep " in *" $name "*) ;; *) rm -f "$file"; say "removed $file (no such NIC any more)" ;; esac
      done
    }

    """#
}
