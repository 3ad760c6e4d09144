#!/usr/bin/python3
"""Golden vectors for tenku's Fernet tokens, made and checked by OpenStack Keystone's own code.

This is tenku's script (not Keystone's): it drives Keystone's TokenFormatter
with the fixed key repository in ./keys and writes JSON the Go tests read.
The Go tests never run Python; rerun this only when the vectors must change.

Needs Debian's Keystone (apt-get install --no-install-recommends
python3-keystone), run with /usr/bin/python3 from this directory.

Keystone 22 (Debian 12) has payload versions 0-9; version 10 (OAuth2 mTLS)
is newer. Pass --upstream with the newer keystone/token/token_formatters.py
(e.g. `git show master:keystone/token/token_formatters.py > /tmp/tf.py` in a
keystone checkout) to also make and check vectors with it; it runs on top of
the installed Keystone.

1. Tokens Keystone makes, with the fields Keystone decodes from them:

    /usr/bin/python3 keystone_vectors.py issue \
        --upstream /tmp/tf.py --upstream-label 'keystone master 30ef2ff' \
        > keystone_issued.json

2. Key rotations done by Keystone's FernetUtils (keystone-manage
   fernet_setup / fernet_rotate) on throw-away repositories:

    /usr/bin/python3 keystone_vectors.py rotate > keystone_rotations.json

3. Tokens tenku makes (go test -run TestWriteTenkuTokens -tenku-tokens
   writes tenku_tokens.json), decoded by Keystone:

    /usr/bin/python3 keystone_vectors.py validate tenku_tokens.json \
        --upstream /tmp/tf.py --upstream-label 'keystone master 30ef2ff' \
        > keystone_validated.json
"""

import argparse
import base64
import datetime
import importlib.util
import json
import os
import shutil
import sys
import tempfile

import msgpack
from cryptography import fernet

import keystone.conf
from keystone.token import token_formatters as installed_tf

try:
    from importlib.metadata import version as _dist_version
    KEYSTONE_VERSION = _dist_version('keystone')
except Exception:  # pragma: no cover - metadata missing
    KEYSTONE_VERSION = 'unknown'

HERE = os.path.dirname(os.path.abspath(__file__))
KEY_DIR = os.path.join(HERE, 'keys')

CONF = keystone.conf.CONF
keystone.conf.configure(CONF)
CONF(args=[], project='keystone', default_config_files=[], default_config_dirs=[])

DEFAULT_METHODS = list(CONF.auth.methods)

# Fixed ids, so vectors are readable. uuid4().hex is what Keystone makes.
U1 = '5f3a2d1c9b8e4f7a8c6d5e4f3a2b1c0d'
U2 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
P1 = '0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f'
D1 = 'f0e1d2c3b4a5968778695a4b3c2d1e0f'
T1 = '1234567890abcdef1234567890abcdef'
G1 = 'fedcba0987654321fedcba0987654321'
AC1 = '77777777aaaa4bbbbcccc1111dddd222'
AT1 = '99990000aaaabbbbccccddddeeeeffff'
IDP1 = '3c3c3c3c4d4d4d4d5e5e5e5e6f6f6f6f'
A1 = 'qcGDqhYaTJ2B9r3TmGLjPw'
A2 = 'xR4dHsl5Q3-n_4SEfMK8gA'
EXP = '2030-01-02T03:04:05.000000Z'


def case(name, cls, expires_at=EXP, audit_ids=(A1,), methods=('password',), keys=None,
         methods_config=None, upstream_only=False, **fields):
    return dict(name=name, cls=cls, expires_at=expires_at, audit_ids=list(audit_ids),
                methods=list(methods), keys=keys, methods_config=methods_config,
                upstream_only=upstream_only, fields=fields)


CASES = [
    case('unscoped', 'UnscopedPayload', user_id=U1),
    case('unscoped_non_uuid_user_two_audit_ids', 'UnscopedPayload', user_id='jdoe',
         methods=('password', 'token'), audit_ids=(A1, A2)),
    case('unscoped_id_mapping_user', 'UnscopedPayload', user_id='e' * 64, methods=('external',)),
    case('unscoped_long_user_id_str16', 'UnscopedPayload', user_id='u' * 300),
    case('unscoped_upper_hyphen_uuid_user', 'UnscopedPayload',
         user_id='5F3A2D1C-9B8E-4F7A-8C6D-5E4F3A2B1C0D'),
    case('unscoped_no_methods', 'UnscopedPayload', user_id=U1, methods=()),
    case('domain_uuid', 'DomainScopedPayload', user_id=U1, domain_id=D1),
    case('domain_default', 'DomainScopedPayload', user_id=U2, domain_id='default'),
    case('project_uuid', 'ProjectScopedPayload', user_id=U1, project_id=P1),
    case('project_non_uuid_str8', 'ProjectScopedPayload', user_id=U1,
         project_id='a-project-id-that-is-not-a-uuid-at-all-40c'),
    case('project_subsecond_expiry', 'ProjectScopedPayload', user_id=U1, project_id=P1,
         expires_at='2030-06-15T12:34:56.789012Z'),
    case('project_far_future_expiry', 'ProjectScopedPayload', user_id=U1, project_id=P1,
         expires_at='9000-01-01T00:00:00.123457Z'),
    case('project_all_methods', 'ProjectScopedPayload', user_id=U1, project_id=P1,
         methods=DEFAULT_METHODS, audit_ids=(A2, A1)),
    case('project_secondary_key', 'ProjectScopedPayload', user_id=U1, project_id=P1, keys=[0, 1]),
    case('project_custom_methods', 'ProjectScopedPayload', user_id=U1, project_id=P1,
         methods=('password', 'totp'),
         methods_config=['password', 'token', 'totp', 'application_credential']),
    case('trust', 'TrustScopedPayload', user_id=U2, project_id=P1, trust_id=T1,
         methods=('password',)),
    case('federated_unscoped', 'FederatedUnscopedPayload', user_id=U1, methods=('mapped',),
         federated_group_ids=[{'id': G1}, {'id': 'admins-group'}],
         identity_provider_id='myidp', protocol_id='saml2'),
    case('federated_unscoped_no_groups', 'FederatedUnscopedPayload', user_id=U1,
         methods=('mapped',), federated_group_ids=[], identity_provider_id=IDP1,
         protocol_id='openid'),
    case('federated_unscoped_many_groups_array16', 'FederatedUnscopedPayload', user_id=U1,
         methods=('mapped',),
         federated_group_ids=[{'id': '%032x' % (0x1000 + i)} for i in range(17)],
         identity_provider_id='myidp', protocol_id='saml2'),
    case('federated_project', 'FederatedProjectScopedPayload', user_id=U1,
         methods=('mapped', 'token'), project_id=P1, federated_group_ids=[{'id': G1}],
         identity_provider_id='myidp', protocol_id='mapped'),
    case('federated_domain', 'FederatedDomainScopedPayload', user_id=U1,
         methods=('mapped',), domain_id=D1, federated_group_ids=[{'id': G1}],
         identity_provider_id='myidp', protocol_id='openid'),
    case('oauth1', 'OauthScopedPayload', user_id=U1, methods=('oauth1',), project_id=P1,
         access_token_id=AT1),
    case('system', 'SystemScopedPayload', user_id=U1, system='all'),
    case('application_credential', 'ApplicationCredentialScopedPayload', user_id=U1,
         methods=('application_credential',), project_id=P1, app_cred_id=AC1),
    case('oauth2_project', 'Oauth2CredentialsScopedPayload', user_id=U1,
         methods=('application_credential',), project_id=P1,
         thumbprint='sX5rGkS1KqXvBNU1Tnq3wdn5cSBNi1Xm5Qx7a8SD0ik', upstream_only=True),
    case('oauth2_domain', 'Oauth2CredentialsScopedPayload', user_id=U1,
         methods=('application_credential',), domain_id=D1,
         thumbprint='sX5rGkS1KqXvBNU1Tnq3wdn5cSBNi1Xm5Qx7a8SD0ik', upstream_only=True),
]

INSTALLED_FIELDS = ['user_id', 'methods', 'audit_ids', 'system', 'domain_id', 'project_id',
                    'trust_id', 'federated_group_ids', 'identity_provider_id', 'protocol_id',
                    'access_token_id', 'app_cred_id', 'issued_at', 'expires_at']
UPSTREAM_FIELDS = INSTALLED_FIELDS[:12] + ['thumbprint'] + INSTALLED_FIELDS[12:]


def formatters(args):
    out = [('keystone %s (installed)' % KEYSTONE_VERSION, installed_tf)]
    if args.upstream:
        spec = importlib.util.spec_from_file_location(
            'keystone.token.token_formatters_upstream', args.upstream)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        out.append((args.upstream_label or args.upstream, mod))
    return out


def use_keys(indexes):
    """Point Keystone at a copy of ./keys holding only the given indexes."""
    d = tempfile.mkdtemp(prefix='tenku-fernet-')
    os.chmod(d, 0o700)
    for i in indexes:
        shutil.copy(os.path.join(KEY_DIR, str(i)), os.path.join(d, str(i)))
    CONF.set_override('key_repository', d, group='fernet_tokens')
    CONF.set_override('max_active_keys', 3, group='fernet_tokens')
    return d


def all_keys():
    return sorted(int(n) for n in os.listdir(KEY_DIR) if n.isdigit())


def plaintext(token, indexes):
    keys = [open(os.path.join(KEY_DIR, str(i))).read().strip()
            for i in sorted(indexes, reverse=True)]
    f = fernet.MultiFernet([fernet.Fernet(k) for k in keys])
    return f.decrypt(installed_tf.TokenFormatter.restore_padding(token).encode())


def decoded(mod, token, names):
    values = mod.TokenFormatter().validate_token(token)
    out = dict(zip(names, values))
    groups = out.get('federated_group_ids')
    out['federated'] = groups is not None
    if groups is not None:
        out['federated_group_ids'] = [g['id'] for g in groups]
    return out


def issue(args):
    vectors = []
    for label, mod in formatters(args):
        upstream = mod is not installed_tf
        for c in CASES:
            if c['upstream_only'] and not upstream:
                continue
            indexes = c['keys'] or all_keys()
            CONF.set_override('methods', c['methods_config'] or DEFAULT_METHODS, group='auth')
            d = use_keys(indexes)
            try:
                kwargs = dict(c['fields'])
                token = mod.TokenFormatter().create_token(
                    kwargs.pop('user_id'), c['expires_at'], c['audit_ids'],
                    getattr(mod, c['cls']), methods=c['methods'], **kwargs)
                # Decode with every key, as the Go side will.
                shutil.rmtree(d, ignore_errors=True)
                d = use_keys(all_keys())
                names = UPSTREAM_FIELDS if upstream else INSTALLED_FIELDS
                plain = plaintext(token, all_keys())
                payload = msgpack.unpackb(plain)
                # Where each version's list holds expires_at.
                exp_index = {0: 3, 1: 4, 2: 4, 3: 4, 4: 6, 5: 7, 6: 7, 7: 5, 8: 4, 9: 4, 10: 5}
                exp_float = payload[exp_index[payload[0]]]
                exact = datetime.datetime.fromtimestamp(exp_float, datetime.timezone.utc)
                vectors.append({
                    'name': c['name'],
                    'keystone': label,
                    'payload_class': c['cls'],
                    'version': payload[0],
                    'methods_config': c['methods_config'] or DEFAULT_METHODS,
                    'key_indexes': indexes,
                    'input': dict(c['fields'], expires_at=c['expires_at'],
                                  audit_ids=c['audit_ids'], methods=c['methods']),
                    'token': token,
                    'plaintext_hex': plain.hex(),
                    'expires_at_exact': exact.strftime('%Y-%m-%dT%H:%M:%S.%fZ'),
                    'decoded': decoded(mod, token, names),
                })
            finally:
                shutil.rmtree(d, ignore_errors=True)
    json.dump({'generator': 'keystone_vectors.py issue',
               'default_domain_id': CONF.identity.default_domain_id,
               'vectors': vectors}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


def validate(args):
    with open(args.tokens) as f:
        doc = json.load(f)
    results = []
    mods = formatters(args)
    d = use_keys(all_keys())
    try:
        for t in doc['tokens']:
            CONF.set_override('methods', t['methods_config'], group='auth')
            CONF.set_override('default_domain_id', t.get('default_domain_id', 'default'),
                              group='identity')
            by = {}
            for label, mod in mods:
                names = INSTALLED_FIELDS if mod is installed_tf else UPSTREAM_FIELDS
                try:
                    by[label] = {'decoded': decoded(mod, t['token'], names)}
                except Exception as e:  # recorded: the Go test decides what is expected
                    by[label] = {'error': '%s: %s' % (type(e).__name__, e)}
            results.append(dict(t, keystone=by))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    json.dump({'generator': 'keystone_vectors.py validate',
               'formatters': [label for label, _ in mods],
               'tokens': results}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


# Key repositories (indexes) and max_active_keys to rotate with Keystone's
# own FernetUtils.rotate_keys, the code behind keystone-manage fernet_rotate.
ROTATIONS = [
    ([0], 3), ([0, 1], 3), ([0, 1, 2], 3), ([0, 1, 2], 5), ([0, 1, 2, 3, 4], 3),
    ([0, 1], 1), ([0, 1], 2), ([0, 3, 7], 3), ([0], 1), ([0, 1, 2, 3], 2),
]


def read_repo(d):
    return {n: open(os.path.join(d, n)).read() for n in sorted(os.listdir(d))}


def rotate(args):
    from keystone.common import fernet_utils
    out = []
    for indexes, max_active in ROTATIONS + [(None, 3)]:
        d = tempfile.mkdtemp(prefix='tenku-fernet-')
        try:
            os.chmod(d, 0o700)
            fu = fernet_utils.FernetUtils(d, max_active, 'fernet_tokens')
            if indexes is None:  # keystone-manage fernet_setup on an empty repository
                before = {}
                fu.initialize_key_repository()
            else:
                for i in indexes:
                    with open(os.path.join(d, str(i)), 'w') as f:
                        f.write(fernet.Fernet.generate_key().decode())
                before = read_repo(d)
                fu.rotate_keys()
            out.append({'operation': 'setup' if indexes is None else 'rotate',
                        'max_active_keys': max_active,
                        'before': before, 'after': read_repo(d)})
        finally:
            shutil.rmtree(d, ignore_errors=True)
    json.dump({'generator': 'keystone_vectors.py rotate',
               'keystone': 'keystone %s (installed)' % KEYSTONE_VERSION,
               'rotations': out}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('mode', choices=['issue', 'validate', 'rotate'])
    p.add_argument('tokens', nargs='?', help='tenku_tokens.json (validate mode)')
    p.add_argument('--upstream', help='a newer keystone/token/token_formatters.py')
    p.add_argument('--upstream-label', help='how to name it in the vectors')
    args = p.parse_args()
    if args.mode == 'issue':
        issue(args)
    elif args.mode == 'rotate':
        rotate(args)
    else:
        if not args.tokens:
            p.error('validate needs the tokens file')
        validate(args)


if __name__ == '__main__':
    main()
