#!/usr/bin/env bash
# The macOS disk image: the app beside a link to Applications, to drag it across.
#
#   installer/macos/make_dmg.sh "dist/Referral Desk.app" dist/ReferralDesk-0.1.0-macos-arm64.dmg
#
# installer/build.py runs it after the app passed its self-test. Where credentials exist
# (installer/README.md, "macOS signing and notarisation"):
#   REFERRAL_DESK_CODESIGN_IDENTITY  a "Developer ID Application: ..." identity in the keychain;
#                                    the spec signed the app with it, this signs the image
#   REFERRAL_DESK_NOTARY_PROFILE     a `xcrun notarytool store-credentials` profile; the image
#                                    is notarised by Apple and the ticket stapled to it
#   REFERRAL_DESK_NOTARY_KEYCHAIN    the keychain holding that profile, if not the default one
# Without them the image is unsigned: fine for testing, but Gatekeeper warns on other Macs.
set -euo pipefail

app=${1:?usage: make_dmg.sh APP.app IMAGE.dmg}
image=${2:?usage: make_dmg.sh APP.app IMAGE.dmg}
identity=${REFERRAL_DESK_CODESIGN_IDENTITY:-}
profile=${REFERRAL_DESK_NOTARY_PROFILE:-}

if [[ ! -d "$app/Contents/MacOS" ]]; then
    echo "make_dmg.sh: $app is not an app bundle" >&2
    exit 1
fi
if [[ -n "$profile" && -z "$identity" ]]; then
    echo "make_dmg.sh: notarising needs a signed app: set REFERRAL_DESK_CODESIGN_IDENTITY too" >&2
    exit 1
fi
if [[ -n "$identity" ]]; then
    # Every binary inside must carry the identity and the hardened runtime, or Apple refuses.
    codesign --verify --deep --strict --verbose=2 "$app"
fi

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
# ditto keeps the bundle's symlinks, extended attributes and signatures as they are.
ditto "$app" "$staging/$(basename "$app")"
ln -s /Applications "$staging/Applications"

rm -f "$image"
# hdiutil now and then fails with "Resource busy" on CI Macs (a disk-arbitration race): retry.
for try in 1 2 3 4 5; do
    if hdiutil create -volname "Referral Desk" -srcfolder "$staging" -fs HFS+ -format UDZO \
        -ov "$image"; then
        break
    fi
    if [[ $try == 5 ]]; then
        echo "make_dmg.sh: hdiutil create failed 5 times" >&2
        exit 1
    fi
    sleep $((try * 5))
done

if [[ -n "$identity" ]]; then
    codesign --sign "$identity" --timestamp "$image"
fi
if [[ -n "$profile" ]]; then
    # The profile may live in a keychain of its own (the CI workflow makes one). The odd
    # expansion keeps macOS's bash 3.2 from calling an empty array unbound under `set -u`.
    keychain=()
    if [[ -n "${REFERRAL_DESK_NOTARY_KEYCHAIN:-}" ]]; then
        keychain=(--keychain "$REFERRAL_DESK_NOTARY_KEYCHAIN")
    fi
    xcrun notarytool submit "$image" --keychain-profile "$profile" ${keychain[@]+"${keychain[@]}"} --wait
    xcrun stapler staple "$image"
    xcrun stapler validate "$image"
fi
hdiutil verify "$image"
echo "made $image"
