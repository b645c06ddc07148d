#!/bin/sh
# Install Referral Desk for this user (no root needed), or remove it again:
#
#   ./install.sh              copy the app to ~/.local/opt/referral-desk, add it to the
#                             applications menu, and put `referral-desk` on ~/.local/bin
#   ./install.sh --uninstall  remove the app, its menu entry and icon
#
# Run it from the unpacked folder. The office's data (~/.local/share/ReferralDesk: the
# database, documents, backups) is never touched, by an install over an older version or by
# --uninstall.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
app_dir=$HOME/.local/opt/referral-desk
bin_link=$HOME/.local/bin/referral-desk
entry=$data_home/applications/referral-desk.desktop
icon=$data_home/icons/hicolor/256x256/apps/referral-desk.png

refresh_menu() {
    # Desktops notice a new entry by themselves; these make it immediate where they exist.
    command -v update-desktop-database >/dev/null 2>&1 \
        && update-desktop-database -q "$data_home/applications" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 \
        && gtk-update-icon-cache -q -t "$data_home/icons/hicolor" || true
}

# `sudo ./install.sh` would install into root's home, out of the user's menu.
if [ -n "${SUDO_USER:-}" ]; then
    echo "install.sh: run it without sudo; it installs for you, in your home folder" >&2
    exit 1
fi
# Files replaced under a running Referral Desk break it at its next import.
for proc in /proc/[0-9]*; do
    case $(readlink "$proc/exe" 2>/dev/null) in
    "$app_dir/referral-desk"*)
        echo "install.sh: Referral Desk is open. Quit it (File > Quit), then run install.sh again." >&2
        exit 1
        ;;
    esac
done

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$app_dir"
    rmdir "$(dirname "$app_dir")" 2>/dev/null || true  # ~/.local/opt, if nothing else is there
    rm -f "$entry" "$icon"
    if [ -L "$bin_link" ]; then rm -f "$bin_link"; fi
    refresh_menu
    echo "Referral Desk is removed. The office's data stays in $data_home/ReferralDesk."
    exit 0
fi
if [ -n "${1:-}" ]; then
    echo "install.sh: unknown option '$1' (use --uninstall to remove Referral Desk)" >&2
    exit 2
fi
if [ ! -x "$here/referral-desk" ]; then
    echo "install.sh: run me from the unpacked Referral Desk folder ($here has no referral-desk)" >&2
    exit 1
fi

# A new version replaces the old one whole: a file the new version no longer has must not stay.
staging=$app_dir.new
rm -rf "$staging"
mkdir -p "$(dirname "$app_dir")"
cp -R "$here" "$staging"
rm -rf "$app_dir"
mv "$staging" "$app_dir"

mkdir -p "$(dirname "$entry")" "$(dirname "$icon")" "$(dirname "$bin_link")"
cp "$here/referral-desk.png" "$icon"
# Exec takes a quoted path: the home folder may have spaces in its name.
sed "s|@EXEC@|\"$app_dir/referral-desk\"|" "$here/referral-desk.desktop" > "$entry"
chmod 644 "$entry"
ln -sfn "$app_dir/referral-desk" "$bin_link"
refresh_menu
echo "Referral Desk is installed: find it in the applications menu, or run referral-desk."
case ":$PATH:" in
*":$HOME/.local/bin:"*) ;;
*) echo "(referral-desk works on the command line after you log out and in again.)" ;;
esac
echo "The office's data lives in $data_home/ReferralDesk. You may delete this unpacked folder."
