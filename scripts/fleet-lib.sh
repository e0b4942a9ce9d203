# A local fleet for the demo and the benchmarks: a salt-master, and salt-minions that are each an
# isolated Debian sendmail host (scripts/host-run --netns) on a bridge holding 198.51.100.0/24.
# Source it, then call fleet_up, inside a private network, mount and PID namespace (scripts/demo.sh
# and benchmarks/run.sh make one): nothing here touches this machine's own network, /etc or port 25,
# and everything stops when that namespace ends.
#
#   fleet_up WORK_DIR ID:NUMBER:SITE...    e.g. fleet_up /tmp/x relay1:11:paris client1:12:paris
#   fleet_salt ARG...                      the salt CLI of that master
#   fleet_run ARG...                       salt-run on that master
#   fleet_exec ID COMMAND...               a command inside a minion's host
#   fleet_pillar NAME YAML                 writes the pillar file sendmail/NAME.sls (beacons: every host)

FLEET_NET=198.51.100
FLEET_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FLEET_VENV=$FLEET_REPO/.venv/bin

fleet_salt() { PYTHONWARNINGS=ignore "$FLEET_VENV/salt" -c "$FLEET_WORK/master" --timeout=120 "$@"; }
# (salt-run 3008 ends with "unclosed Runner ..." notes about its own objects on stderr: dropped)
fleet_run() {
  PYTHONWARNINGS=ignore "$FLEET_VENV/salt-run" -c "$FLEET_WORK/master" --timeout=120 "$@" \
    2> >(grep -v 'unclosed \(Runner\|MasterMinion\)' >&2)
}
fleet_pillar() { printf '%s\n' "$2" >"$FLEET_WORK/pillar/sendmail/$1.sls"; }
fleet_exec() { local id=$1; shift; "$FLEET_REPO/scripts/host-exec" "$FLEET_WORK/hosts/$id" "$@"; }

# The pillar: the first site's relay (the first minion) is its server; everyone else a client of it.
_fleet_pillar() {
  local dir=$1 relay=$2
  mkdir -p "$dir/sendmail"
  cat >"$dir/top.sls" <<EOF
base:
  '*':
    - sendmail.common
    - sendmail.beacons
  'relay*':
    - sendmail.relay
  'client*':
    - sendmail.client
EOF
  cat >"$dir/sendmail/common.sls" <<EOF
sendmail:
  sites:
    paris:
      relays: ['[$relay]']
      relay_domains: [example.com, $FLEET_NET]
      # Mail from the site comes from example.com; root's (cron's) goes to the mailbox of the
      # user "mail" on the relay (final for its own name here; a site names its ops address).
      masquerade_as: example.com
      aliases: {root: mail@relay1.example.test, postmaster: mail@relay1.example.test}
  # The packages are installed (scripts/setup.sh); the fleet's hosts have no network to apt.
  lookup: {pkgs: []}
EOF
  echo "{}" >"$dir/sendmail/beacons.sls"  # the drift beacon, when fleet_pillar writes it
  echo "sendmail: {role: server}" >"$dir/sendmail/relay.sls"
  echo "sendmail: {role: client}" >"$dir/sendmail/client.sls"
}

fleet_up() {
  FLEET_WORK=$1; shift
  local work=$FLEET_WORK spec id number site hosts="127.0.0.1	localhost"$'\n' relay=""
  mkdir -p "$work/formula" "$work/pillar" "$work/master" "$work/hosts"
  # /run/netns is the namespace's own tmpfs (private-ns --tmpfs): ip netns files stay inside.
  ip link add smbr0 type bridge
  ip addr add "$FLEET_NET.1/24" dev smbr0
  ip link set smbr0 up
  for spec in "$@"; do
    IFS=: read -r id number site <<<"$spec"
    hosts+="$FLEET_NET.$number	$id.example.test $id"$'\n'
    [ -n "$relay" ] || relay="$FLEET_NET.$number"
  done
  hosts+="192.0.2.10	example.com"$'\n'
  # What a master serves from a checkout: the formula, the reactor, and the extension modules.
  ln -s "$FLEET_REPO/salt/sendmail" "$FLEET_REPO/salt/reactor" "$FLEET_REPO"/_{modules,utils,states,grains,beacons,runners,output} \
    "$work/formula/"
  printf "base:\n  '*':\n    - sendmail\n" >"$work/formula/top.sls"
  _fleet_pillar "$work/pillar" "$relay"
  cat >"$work/master/master" <<EOF
root_dir: $work/master
interface: $FLEET_NET.1
auto_accept: true
log_file: $work/master/master.log
file_roots: {base: [$work/formula]}
pillar_roots: {base: [$work/pillar]}
reactor:
  - 'salt/beacon/*/sendmail/': [salt://reactor/sendmail-drift.sls]
EOF
  # Their own output (salt 3008 prints a few startup lines, Python deprecation warnings) goes to logs.
  "$FLEET_VENV/salt-master" -c "$work/master" -l quiet >"$work/master/stdout.log" 2>&1 &
  for spec in "$@"; do
    IFS=: read -r id number site <<<"$spec"
    ip netns add "fleet-$id"
    ip link add "smv-$id" type veth peer name eth0 netns "fleet-$id"
    ip link set "smv-$id" master smbr0 up
    ip -n "fleet-$id" addr add "$FLEET_NET.$number/24" dev eth0
    ip -n "fleet-$id" link set eth0 up
    "$FLEET_REPO/scripts/host-run" "$work/hosts/$id" "$id.example.test" true
    printf '%s' "$hosts" >"$work/hosts/$id/etc/hosts"
    mkdir -p "$work/minions/$id"
    cat >"$work/minions/$id/minion" <<EOF
id: $id
root_dir: $work/minions/$id
master: $FLEET_NET.1
log_file: $work/minions/$id/minion.log
grains: {site: $site}
EOF
    "$FLEET_REPO/scripts/host-run" --netns "fleet-$id" "$work/hosts/$id" "$id.example.test" \
      "$FLEET_VENV/salt-minion" -c "$work/minions/$id" -l quiet >"$work/minions/$id/stdout.log" 2>&1 &
  done
  local want=$# tries
  for tries in $(seq 120); do
    [ "$(fleet_salt --out=txt '*' test.ping 2>/dev/null | grep -c True)" -eq "$want" ] && return 0
    sleep 1
  done
  echo "fleet: the minions did not answer the master" >&2
  return 1
}
