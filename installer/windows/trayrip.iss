; Inno Setup script: a per-user setup program for the PyInstaller build.
; installer/windows/build.sh compiles it under Wine with the version and the
; PyInstaller folder given on ISCC's command line (/DAppVersion=... /DDistDir=...).
; By hand, on Windows: build dist\trayrip first (installer\windows\trayrip.spec), then
;     iscc installer\windows\trayrip.iss
; Output: installer\windows\Output\trayrip-setup-<version>.exe

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef DistDir
  #define DistDir "..\..\dist\trayrip"
#endif
#ifndef Compression
  #define Compression "lzma2/max"
#endif

[Setup]
AppId={{ECD5A3AC-58B5-4C65-99A8-62E922D6C406}
AppName=trayrip
AppVersion={#AppVersion}
AppPublisher=trayrip
DefaultDirName={localappdata}\Programs\trayrip
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
OutputBaseFilename=trayrip-setup-{#AppVersion}
UninstallDisplayIcon={app}\trayrip.exe
UninstallDisplayName=trayrip
Compression={#Compression}
SolidCompression=yes

[Tasks]
Name: "autostart"; Description: "Start trayrip when I log in"; Flags: unchecked

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{userprograms}\trayrip"; Filename: "{app}\trayrip.exe"; Comment: "Record what the computer plays"

[Registry]
; the same value 'trayrip autostart on' writes (trayrip/desktop/autostart.py)
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "trayrip"; ValueData: """{app}\trayrip.exe"" tray"; Flags: uninsdeletevalue; Tasks: autostart

[Run]
Filename: "{app}\trayrip.exe"; Description: "Start trayrip now"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; also removes a Run value set later from the tray menu
Filename: "{app}\trayrip-cli.exe"; Parameters: "autostart off"; Flags: runhidden; RunOnceId: "AutostartOff"
