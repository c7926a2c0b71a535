#!/usr/bin/env node
// Paid calls through tariffd with SingularityNET's own Node.js SDK
// (snet-sdk 2.0.0), on the local network of examples/devnet.
//
// Settings come from the environment, or from --name=value arguments with the
// same names in lower case without the SNET_ prefix (e.g. --rpc=http://...):
//
//   SNET_RPC       chain JSON-RPC URL             (default http://127.0.0.1:8545)
//   SNET_IPFS      Kubo-API metadata endpoint     (default http://127.0.0.1:5002)
//   SNET_MPE       MultiPartyEscrow address       (required)
//   SNET_REGISTRY  Registry address               (required)
//   SNET_TOKEN     token address                  (required)
//   SNET_KEY       client private key, hex        (required)
//   SNET_DAEMON    daemon endpoint, e.g. http://127.0.0.1:7000
//                  (default: the endpoint in the service metadata)
//   SNET_NETWORK_ID  chain id                     (default 1337)
//   SNET_CALLS     number of paid calls to add    (default 3)
//   SNET_CONCURRENCY  "true" for the SDK's prepaid (concurrency token) flow,
//                  buying all SNET_CALLS calls with one signed amount;
//                  default "false": one signed escrow payment per call
//   SNET_PROTO     the service's .proto           (default ../calculator/example_service.proto)
//
// It prints one line per call and, at the end, a JSON line
//   RESULT {"channelId":"…","nonce":"…","signedAmount":"…","calls":N}
// with the channel state as the SDK last saw it from the daemon. It exits
// non-zero on any failure.
'use strict';

const path = require('path');

function settings() {
  const args = {};
  for (const a of process.argv.slice(2)) {
    const m = /^--([a-z_]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a} (want --name=value)`);
    args[m[1]] = m[2];
  }
  const get = (name, def) => {
    const v = args[name] ?? process.env[`SNET_${name.toUpperCase()}`] ?? def;
    if (v === undefined || v === '') throw new Error(`missing setting ${name} (SNET_${name.toUpperCase()} or --${name}=)`);
    return v;
  };
  let key = get('key');
  if (!key.startsWith('0x')) key = `0x${key}`;
  return {
    rpc: get('rpc', 'http://127.0.0.1:8545'),
    ipfs: get('ipfs', 'http://127.0.0.1:5002'),
    mpe: get('mpe'),
    registry: get('registry'),
    token: get('token'),
    key,
    daemon: get('daemon', '-'),
    networkId: get('network_id', '1337'),
    calls: Number(get('calls', '3')),
    concurrency: get('concurrency', 'false') === 'true',
    proto: get('proto', path.join(__dirname, '..', 'calculator', 'example_service.proto')),
    org: get('org', 'example-org'),
    service: get('service', 'example-service'),
    group: get('group', 'default_group'),
  };
}

// The SDK takes contract addresses from its dependencies' networks/*.json,
// keyed by network id. Add the local chain to those (cached) modules before
// the SDK is loaded.
function registerNetwork(s) {
  const sdkDir = path.dirname(require.resolve('snet-sdk/package.json'));
  const load = (mod) => require(require.resolve(mod, { paths: [sdkDir] }));
  load('singularitynet-platform-contracts/networks/MultiPartyEscrow.json')[s.networkId] = { address: s.mpe };
  load('singularitynet-platform-contracts/networks/Registry.json')[s.networkId] = { address: s.registry };
  load('singularitynet-token-contracts/networks/SingularityNetToken.json')[s.networkId] = { address: s.token };
}

async function main() {
  const s = settings();
  registerNetwork(s);
  const SnetSDK = require('snet-sdk').default;
  const grpc = require('@grpc/grpc-js');
  const protoLoader = require('@grpc/proto-loader');

  const def = protoLoader.loadSync(s.proto, { keepCase: true, defaults: true });
  const { Calculator } = grpc.loadPackageDefinition(def).example_service;

  const sdk = new SnetSDK({
    web3Provider: s.rpc,
    privateKey: s.key,
    networkId: s.networkId,
    ipfsEndpoint: s.ipfs,
    defaultGasPrice: '4700000',
    defaultGasLimit: '210000',
  });
  // The SDK finds the MPE deployment block through networks/*.json's
  // transactionHash, which the local chain has none of: scan from genesis.
  sdk._mpeContract._deploymentBlockNumber = async () => 0;

  // snet-sdk 2.0.0 prices every call by the group's "fixed_price" entry only
  // (BaseServiceClient._pricePerServiceCall); the example service is priced
  // per method ("fixed_price_per_method"). Give the SDK a fixed price equal to
  // the price of the one method this script calls.
  const provider = sdk._metadataProvider;

  // snet-sdk 2.0.0 reads metadata with GET {ipfs}/api/v0/cat?arg=<cid>;
  // Kubo's RPC API (and the local network's stand-in for it) takes POST.
  // Try the SDK's GET first and fall back to POST on the same URL.
  const fetchGet = provider._fetchMetadataFromIpfs.bind(provider);
  provider._fetchMetadataFromIpfs = async (uri) => {
    try {
      return await fetchGet(uri);
    } catch (err) {
      const status = err && err.response && err.response.status;
      if (status !== 404 && status !== 405) throw err;
      const cid = sdk.web3.utils.hexToUtf8(uri).substring(7).replace(/\0/g, '');
      const url = `${s.ipfs}/api/v0/cat?arg=${cid}`;
      const res = await fetch(url, { method: 'POST' });
      if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
      console.log(`metadata ${cid}: GET answered ${status}, POST ${res.status}`);
      return res.json();
    }
  };

  const metadata = provider.metadata.bind(provider);
  provider.metadata = async (orgId, serviceId) => {
    const md = await metadata(orgId, serviceId);
    for (const g of md.groups || []) {
      const pricing = g.pricing || [];
      if (pricing.some((p) => p.price_model === 'fixed_price')) continue;
      let price;
      for (const p of pricing) {
        if (p.price_model !== 'fixed_price_per_method') continue;
        for (const d of p.details || []) {
          for (const m of d.method_pricing || []) {
            if (d.service_name === 'Calculator' && m.method_name === 'add') price = m.price_in_cogs;
          }
        }
      }
      if (price === undefined) throw new Error(`group ${g.group_name}: no price for Calculator.add in ${JSON.stringify(pricing)}`);
      console.log(`group ${g.group_name}: add costs ${price} cogs (fixed_price_per_method)`);
      pricing.push({ price_model: 'fixed_price', price_in_cogs: price });
      g.pricing = pricing;
    }
    return md;
  };

  const options = { concurrency: s.concurrency };
  if (s.daemon !== '-') options.endpoint = s.daemon;
  // In the prepaid flow the SDK buys concurrentCalls calls with one token and
  // keeps using it: it does not buy more once they are used up.
  const client = await sdk.createServiceClient(s.org, s.service, Calculator, s.group, null, options,
    s.concurrency ? s.calls : 1);
  console.log(`client ${await sdk.account.getAddress()} -> daemon ${client.getServiceDetails().daemonEndpoint.href}`);

  const add = (a, b) => new Promise((resolve, reject) => {
    client.service.add({ a, b }, { deadline: Date.now() + 120000 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  for (let i = 1; i <= s.calls; i++) {
    const a = i; const b = 2;
    const res = await add(a, b);
    if (Math.abs(res.value - (a + b)) > 1e-6) throw new Error(`add(${a}, ${b}) = ${res.value}, want ${a + b}`);
    console.log(`paid call ${i}: add(${a}, ${b}) = ${res.value}`);
  }

  // What the daemon now reports for the channel the SDK used.
  const channels = await client.loadOpenChannels();
  await client.updateChannelStates();
  const ch = channels[0];
  if (!ch) throw new Error('no open channel found after the calls');
  const result = {
    channelId: `${ch.channelId}`,
    nonce: `${ch.state.nonce}`,
    signedAmount: `${ch.state.currentSignedAmount}`,
    calls: s.calls,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error('paid-calls failed:', err && err.stack ? err.stack : err);
    if (err && err.metadata) console.error('grpc metadata:', JSON.stringify(err.metadata.getMap()));
    process.exit(1);
  },
);
