import { ApiKeysSection } from "./ApiKeysSection";
import { MembersSection } from "./MembersSection";
import { NotificationsSection } from "./NotificationsSection";
import { ProfileSection } from "./ProfileSection";

export default function SettingsPage() {
  return (
    <main
      aria-labelledby="settings-title"
      className="min-h-0 flex-1 overflow-y-auto px-4 pb-12 pt-4"
    >
      <div className="mx-auto max-w-3xl">
        <h1 id="settings-title" className="text-xl font-semibold">
          Settings
        </h1>
        <ProfileSection />
        <NotificationsSection />
        <ApiKeysSection />
        <MembersSection />
      </div>
    </main>
  );
}
