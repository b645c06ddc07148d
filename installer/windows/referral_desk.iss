; Referral Desk for Windows: a per-user installer, no administrator rights needed.
;
; installer/build.py compiles it after building and testing the app, passing:
;   /DAppVersion=0.1.0 /DAppNumericVersion=0.1.0.0   from pyproject.toml
;   /DBundle=<dist\referral-desk>                     the tested one-folder app
;   /DOutputDir=<dist>  /DRoot=<project folder>
; and, when a code-signing command is configured (installer/README.md), /DSignTool=referraldesk.
;
; What the office gets: Referral Desk in %LOCALAPPDATA%\Programs\Referral Desk, a Start-menu
; entry (and a desktop one if ticked), an entry in Settings > Apps with an uninstaller. The
; office's data is not in the program's folder: it lives in %LOCALAPPDATA%\ReferralDesk (the
; database, documents, backups, logs), which neither an upgrade nor the uninstaller touches.

#if Ver < EncodeVer(6, 3, 0)
  #error Inno Setup 6.3 or later is needed (ArchitecturesAllowed=x64compatible)
#endif
#ifndef AppVersion
  #error Pass /DAppVersion=X.Y.Z (installer/build.py does)
#endif
#ifndef AppNumericVersion
  #error Pass /DAppNumericVersion=X.Y.Z.0 (installer/build.py does)
#endif
#ifndef Bundle
  #error Pass /DBundle=<the folder PyInstaller made> (installer/build.py does)
#endif
#ifndef OutputDir
  #define OutputDir "."
#endif
#ifndef Root
  #define Root "..\.."
#endif

#define AppName "Referral Desk"
; The windowed program (no console window); referral-desk.exe beside it is the command line.
#define AppExe "Referral Desk.exe"
; Where platformdirs puts the office's data for Referral Desk (referral_desk/paths.py).
#define DataDir "{localappdata}\ReferralDesk"

[Setup]
; One AppId for every version, forever: an upgrade installs over the old version and keeps a
; single entry in Settings > Apps. Never change it.
AppId={{6F1C2B7E-3A5D-4C8E-9B21-7D4E0A9F5C13}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppName}
AppComments=Case management for an oncology second-opinion referral office
VersionInfoVersion={#AppNumericVersion}
VersionInfoProductName={#AppName}
; Four numbers only; the version as written (0.2.0rc1) goes in the text version.
VersionInfoProductVersion={#AppNumericVersion}
VersionInfoProductTextVersion={#AppVersion}
VersionInfoDescription={#AppName} {#AppVersion} setup
; Per user: no UAC prompt; {autopf} then means %LOCALAPPDATA%\Programs.
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
DisableReadyPage=no
UninstallDisplayName={#AppName}
UninstallDisplayIcon={app}\{#AppExe}
SetupIconFile={#Root}\resources\icons\referral-desk.ico
WizardStyle=modern
OutputDir={#OutputDir}
OutputBaseFilename=ReferralDesk-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
; The app is built by 64-bit Python and Qt 6, which needs Windows 10 1809 (build 17763) or
; later: Qt's core library loads the ICU that Windows ships from that version on.
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.17763
; An open Referral Desk is asked to close (Restart Manager) before its files are replaced; it
; saves nothing half-way, and the office's data is elsewhere.
CloseApplications=yes
RestartApplications=no
#ifdef SignTool
SignTool={#SignTool}
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the program whole: a library the new version no longer ships must not
; stay behind to be loaded by mistake. Only the program's own folder; never the data.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Second-opinion cases, records, specialists, costs and letters"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; No [UninstallDelete]: the uninstaller removes only the files it installed. The office's
; data folder is outside {app} and stays, as the message below tells.

[Code]
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if (CurUninstallStep = usPostUninstall) and not UninstallSilent then
    MsgBox('Referral Desk is removed. The office''s data (cases, documents, backups) is kept in '
      + ExpandConstant('{#DataDir}') + '. Installing Referral Desk again opens it as it was.',
      mbInformation, MB_OK);
end;
