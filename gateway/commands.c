/* commands.c - the table of subcommands.  A new subcommand adds its entry here and its
 * implementation in a file of its own under gateway/. */
#include "config.h"

#include <stddef.h>

#include "cli.h"

const gw_command_t gw_commands[] = {
    { "help", "show help for a subcommand",
      "gridedge help [SUBCOMMAND]\n"
      "    Without SUBCOMMAND, list the subcommands; with it, show its usage.\n",
      gw_cmd_help },
    { "version", "print the program and library versions",
      "gridedge version\n"
      "    Same as `gridedge --version`.\n",
      gw_cmd_version },
    { "pki", "make a test PKI and test identities (LFDI/SFDI)",
      "gridedge pki init DIR\n"
      "    Write a CSIP test PKI in DIR (created if missing): ca.pem/ca.key, server.pem/server.key,\n"
      "    client.pem/client.key, all ECDSA P-256 with SHA-256; keys mode 0600.  Prints the client's\n"
      "    \"LFDI: <40 hex>\" and \"SFDI: <decimal>\".\n"
      "gridedge pki issue DIR NAME [--role client|server|ca] [--key p256|p384|rsa] [--expired]\n"
      "                   [--no-policy] [--sha384] [--self-signed] [--san SAN] [--cn CN]\n"
      "    Issue DIR/NAME.pem and DIR/NAME.key signed by DIR/ca.pem (or self-signed) for tests;\n"
      "    prints its LFDI and SFDI.\n",
      gw_cmd_pki },
    { "conformance", "list and run the conformance cases against a client",
      "gridedge conformance list --suite csip|csip-aus|oadr20b|oadr3\n"
      "    One line per case: ID<TAB>TITLE.\n"
      "gridedge conformance run --suite SUITE [--case ID]... [--report FILE.json] [--junit FILE.xml]\n"
      "                         [--case-dir DIR] [--work-dir DIR] -- CLIENT-COMMAND [ARG]...\n"
      "    Start the head-end on 127.0.0.1 and run the client under test once per case; the client's\n"
      "    arguments may hold {url} {ca} {cert} {key} {lfdi} {sfdi} {ven_name} {client_id}\n"
      "    {client_secret} {state_dir} {status_file} {duration}.  --case-dir reads ID.case files from\n"
      "    DIR instead of the built-in ones; --work-dir keeps the PKI, state and client logs there.\n",
      gw_cmd_conformance },
    { "sep", "run the IEEE 2030.5 (CSIP) client against a server",
      "gridedge sep run [--server URL] [--ca FILE --cert FILE --key FILE] [--lfdi HEX40] [--adapter sim]\n"
      "                 [--state-dir DIR] [--duration SECONDS] [--status-file FILE] [--verbose]\n"
      "                 [--pin PIN] [--seed N] [--adapter-config \"key=value ...\"]\n"
      "                 [--profile auto|csip|csip-aus] [--nmi ID] [--dnssd IPV4:PORT]\n"
      "                 [--notify ADDR[:PORT]|off] [--demand-response]\n"
      "                 [--aggregator [--register-edev LFDI[:NMI]]...]\n"
      "    URL is the DeviceCapability URL, e.g. https://host:port/dcap.  https:// uses the CSIP TLS\n"
      "    profile with the client certificate (identity from it); http:// takes the identity from\n"
      "    --lfdi.  --duration: stop after that many seconds (else at SIGTERM/SIGINT).  CSIP-AUS is\n"
      "    detected from the server's resources (--profile fixes it); --nmi registers the site's\n"
      "    connection point (CSIP-AUS ConnectionPoint).  Without --server the server is found with\n"
      "    DNS-SD (_smartenergy._tcp over multicast DNS, or ask --dnssd IPV4:PORT).  Subscribable\n"
      "    resources are subscribed to, with Notifications to our server on --notify (default: the\n"
      "    address we reach the server from, a free port; off: polling only).  --demand-response:\n"
      "    CSIP-AUS demand response (AS/NZS 4755 DRMs): DERStatus reports the DRM a control commands\n"
      "    (operationalModeStatus 100 + DRM: opModConnect false DRM0, opModFixedW DRM1..8).\n"
      "    --aggregator: the certificate is a CSIP aggregator's; the client acts for every EndDevice\n"
      "    the server's EndDeviceList names (each with a site of its own, its notifications on the\n"
      "    next ports after --notify's), and the status file sums them (each under \"devices\").\n"
      "    --register-edev: an EndDevice of the aggregator's own sites, POSTed to the EndDeviceList\n"
      "    when the server does not list it (in-band registration), with its CSIP-AUS connection\n"
      "    point NMI when given (repeat for each site, at most 32).\n"
      "gridedge sep discover [--dnssd IPV4:PORT] [--timeout SECONDS]\n"
      "    List the IEEE 2030.5 servers DNS-SD finds: \"URL<TAB>instance\" per line.\n",
      gw_cmd_sep },
    { "demo", "a day in the life of a home in a virtual power plant, in about a minute",
      "gridedge demo [--duration SECONDS] [--speed N] [--port P] [--verbose]\n"
      "    The built-in head-end plays a day of utility traffic (IEEE 2030.5 DER controls over the\n"
      "    CSIP TLS profile, and the day's prices) to the gateway driving the simulated home, N times\n"
      "    faster than real time (default: a day in 60 s), serves the status page on 127.0.0.1:P\n"
      "    (default 8080; 0 = any free port) and ends with a summary: energy imported and exported,\n"
      "    battery cycles, events honoured, money saved compared with no battery and no gateway.\n",
      gw_cmd_demo },
    { "gateway", "the site daemon: utility links, devices, price policy, status page",
      "gridedge gateway --config FILE\n"
      "    Run what FILE (INI; see docs/gateway.md and docs/gridedge.ini) configures until SIGTERM;\n"
      "    SIGHUP reloads FILE.  A configuration error is reported as \"FILE:LINE: error: MESSAGE\"\n"
      "    and the exit status is 2.\n",
      gw_cmd_gateway },
    { "xml", "decode, re-encode and validate IEEE 2030.5 / OpenADR 2.0b XML",
      "gridedge xml decode [--schema sep|oadr20b|auto] [--json] FILE|-\n"
      "    Decode FILE (- = standard input) with the codec; print the message as canonical XML\n"
      "    (or JSON) and exit 0, or print \"NAME:LINE:COL: error: MESSAGE\" and exit 1.\n"
      "gridedge xml validate --xsd-dir DIR [--schema sep|oadr20b|auto] FILE|-\n"
      "    Validate FILE with libxml2 against the official XSDs under DIR (for cross-checking).\n",
      gw_cmd_xml },
    { "oadr", "run the OpenADR VEN against a VTN",
      "gridedge oadr run --vtn URL --ven-name NAME [--version 2.0b|3.0] [--token TOKEN | --client-id ID\n"
      "                  --client-secret S] [--ca FILE --cert FILE --key FILE] [--adapter sim]\n"
      "                  [--state-dir DIR] [--duration SECONDS] [--status-file FILE] [--verbose] [--seed N]\n"
      "                  [--opt-out EVENTID]... [--push-port P [--push-bind ADDR] [--push-cert F --push-key F]]\n"
      "                  [--resource-id ID]... [--group-id ID]... [--party-id ID]... [--sign]\n"
      "                  [--base-price PRICE] [--unavailable START/DURATION]...\n"
      "    OpenADR VEN.  2.0b: URL is the VTN's base, e.g. http://host:port/OpenADR2/Simple/2.0b (simple\n"
      "    HTTP pull with oadrPoll, or push: the VEN serves on --push-port and the VTN posts to it;\n"
      "    https:// uses the 2.0b TLS profile with --ca/--cert/--key, and so does the push server);\n"
      "    SIMPLE levels, prices, DEMAND_CHARGE, BID_PRICE, LOAD_DISPATCH, LOAD_CONTROL and CHARGE_STATE\n"
      "    drive the site; events whose eiTarget names neither our venID nor a --resource-id, --group-id\n"
      "    or --party-id are answered optOut; --opt-out answers that event optOut.  --sign (2.0b, with\n"
      "    --ca/--cert/--key): XML signatures - every payload sent is signed with --cert/--key, and a VTN\n"
      "    payload without a valid signature by a certificate under --ca is logged and ignored.\n"
      "    --base-price: the tariff per kWh that priceRelative prices add to and priceMultiplier\n"
      "    prices multiply (without it such signals are logged and not acted on).\n"
      "    --unavailable 2026-12-01T18:00:00Z/PT2H: the home is not available then (oadrCreateOpt\n"
      "    optOut once registered; events in the window are answered optOut and not acted on).\n"
      "    2.0b re-reads DIR/owner.ini (--state-dir) when it changes: the home owner's [oadr]\n"
      "    unavailable = START/DURATION, ..., opt_out = EVENTID ... and registered = no (leave).\n"
      "    3.0: URL is the VTN's REST base, e.g. http://host:port/openadr3; the VEN gets a token\n"
      "    with --client-id/--client-secret (or uses --token) and follows programs and events.\n",
      gw_cmd_oadr },
    { NULL, NULL, NULL, NULL }
};
