package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"daisydog/node"
	"daisydog/storage"
)

// cmdBackup writes a sealed backup of this server's database (node/backup.go);
// `backup verify` checks one.
func cmdBackup(args []string) error {
	if len(args) > 0 && args[0] == "verify" {
		return cmdBackupVerify(args[1:])
	}
	fs := flag.NewFlagSet("backup", flag.ExitOnError)
	data := fs.String("data", "", "this server's data directory (the node may be running)")
	out := fs.String("out", "", "the backup file to write (a new file)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || *out == "" {
		return errors.New("usage: daisydog backup --data DIR --out FILE (--data and --out are required)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	start := time.Now()
	info, err := node.Backup(ctx, node.Layout{Dir: *data}, *out)
	if err != nil {
		return err
	}
	fmt.Printf("backup written: %s (%d bytes, state at Raft index %d, %s)\n", *out, info.Bytes, info.AppliedIndex, time.Since(start).Round(time.Millisecond))
	fmt.Printf("it opens only with this cluster's key (%s): keep a copy of that key apart from the backups\n", node.Layout{Dir: *data}.ClusterKey())
	return nil
}

// cmdBackupVerify opens a backup as a restore would (node.VerifyBackup) and
// changes nothing: for copies kept off site, before the day they are needed.
func cmdBackupVerify(args []string) error {
	fs := flag.NewFlagSet("backup verify", flag.ExitOnError)
	from := fs.String("from", "", "the backup file")
	keyFile := fs.String("cluster-key", "", "a copy of keys/cluster.key of the cluster the backup was made on")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *from == "" || *keyFile == "" {
		return errors.New("usage: daisydog backup verify --from FILE --cluster-key FILE (both are required)")
	}
	key, err := readClusterKeyFile(*keyFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	idx, err := node.VerifyBackup(ctx, *from, key, 0)
	if err != nil {
		return fmt.Errorf("backup %s FAILED verification: %w", *from, err)
	}
	fmt.Printf("backup OK: %s opens with this key, passes SQLite's integrity check and holds the state at Raft index %d\n", *from, idx)
	return nil
}

// cmdRestore starts a new cluster from a backup: like init, with the
// backup's state and cluster key.
func cmdRestore(args []string) error {
	fs := flag.NewFlagSet("restore", flag.ExitOnError)
	var sf serveFlags
	var af addrFlags
	sf.register(fs)
	af.register(fs, "127.0.0.1:8443", "127.0.0.1:9443")
	from := fs.String("from", "", "the backup file (from daisydog backup)")
	keyFile := fs.String("cluster-key", "", "a copy of keys/cluster.key of the cluster the backup was made on")
	noServe := fs.Bool("no-serve", false, "only create the data directory")
	archives := fs.String("archive", "", "point-in-time recovery: comma-separated log archive directories (--archive-dir of the old cluster's servers) whose commands after the backup are applied, up to --until")
	untilText := fs.String("until", "", "with --archive: the moment to recover to (RFC 3339, e.g. 2026-11-27T14:03:00Z); commands the leader appended later are not applied")
	newKey := fs.Bool("new-cluster-key", false, "rotate the cluster key: the new cluster gets a fresh keys/cluster.key, every family's data is re-encrypted under new data keys, and everyone signs in again (docs/operations.md \"Rotating the cluster key\")")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*archives == "") != (*untilText == "") {
		return errors.New("--archive and --until go together: the log archive to recover from and the moment to recover to")
	}
	var until time.Time
	if *untilText != "" {
		t, err := time.Parse(time.RFC3339Nano, *untilText)
		if err != nil {
			return fmt.Errorf("--until: %q is not an RFC 3339 time such as 2026-11-27T14:03:00Z", *untilText)
		}
		until = t
	}
	if err := sf.check(); err != nil {
		return err
	}
	if sf.data == "" || *from == "" || *keyFile == "" {
		return errors.New("usage: daisydog restore --from FILE --cluster-key FILE --data DIR --node-id ID [--http ADDR --raft ADDR] [--archive DIR --until TIME] [--new-cluster-key] (--from, --cluster-key and --data are required)")
	}
	key, err := readClusterKeyFile(*keyFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	ro := node.RestoreOptions{Archives: splitList(*archives), Until: until, NewClusterKey: *newKey}
	tok, rep, err := node.RestoreWith(ctx, node.Layout{Dir: sf.data}, af.options(), *from, key, ro)
	if err != nil {
		return err
	}
	if rec := rep.Recovery; *archives != "" {
		fmt.Printf("Restored the backup (Raft index %d) and %d archived commands after it into a new cluster: node %q in %s.\n", rec.BackupIndex, rec.Commands, af.nodeID, sf.data)
		if rec.Commands > 0 {
			fmt.Printf("The state is the old cluster's as of index %d, appended %s.\n", rec.LastIndex, rec.LastAt.UTC().Format(time.RFC3339Nano))
		}
		if rec.EndOfArchive {
			fmt.Printf("The archives end before %s: writes after their last command, if there were any, are not restored.\n", until.UTC().Format(time.RFC3339))
		}
	} else {
		fmt.Printf("Restored the state at Raft index %d into a new cluster: node %q in %s.\n", rep.Backup.AppliedIndex, af.nodeID, sf.data)
		fmt.Println("Writes acknowledged after the backup was taken are not in it.")
	}
	if *newKey {
		printRekey(rep.Rekey, node.Layout{Dir: sf.data}.ClusterKey())
	}
	fmt.Printf("Join token for the other servers (new; keep it secret):\n  %s\n", tok)
	if *noServe {
		return nil
	}
	return serve(sf, nil)
}

// readClusterKeyFile reads a copy of keys/cluster.key (--cluster-key).
func readClusterKeyFile(path string) ([]byte, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--cluster-key: %w", err)
	}
	key, err := node.ParseClusterKey(text)
	if err != nil {
		return nil, fmt.Errorf("--cluster-key: %w", err)
	}
	return key, nil
}

// printRekey tells the operator what a restore with --new-cluster-key did
// and what follows from it.
func printRekey(k storage.RekeyInfo, keyFile string) {
	fmt.Printf("New cluster key: %s (keep a copy apart from the backups, as before).\n", keyFile)
	fmt.Printf("Re-encrypted under new data keys: %d families, %d parents, %d children, %d turns, %d companions; resealed: %d staff accounts, %d queued e-mails.\n",
		k.Families, k.Parents, k.Children, k.Turns, k.Companions, k.Staff, k.Mail)
	tables := make([]string, 0, len(k.Dropped))
	for t := range k.Dropped {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	var dropped []string
	for _, t := range tables {
		dropped = append(dropped, fmt.Sprintf("%s %d", t, k.Dropped[t]))
	}
	if len(dropped) > 0 {
		fmt.Printf("Dropped (usable only with the old key): %s.\n", strings.Join(dropped, ", "))
	}
	fmt.Printf("Every parent and staff member signs in again; %d child devices were revoked (parents link them again); %d staff members enrol a new authenticator at their next login.\n",
		k.DevicesRevoked, k.StaffMFAReset)
	fmt.Println("Old backups and log archives open only with the old key: destroy them, and the old key, once a backup of this cluster exists.")
}
