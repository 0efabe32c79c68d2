import { lazy, Suspense, useEffect } from "react";
import { Navigate, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { setSignedOutHandler } from "./api/client";
import { RequireAuth } from "./auth/RequireAuth";
import { AppShell } from "./shell/AppShell";
import TaskListPage from "./tasks/TaskListPage";

// Only the list ships in the first bundle; the sign-in pages load when visited.
const SignInPage = lazy(() => import("./auth/SignInPage"));
const SignUpPage = lazy(() => import("./auth/SignUpPage"));
const SettingsPage = lazy(() => import("./settings/SettingsPage"));
// Recharts comes only with the stats page.
const StatsPage = lazy(() => import("./stats/StatsPage"));
const BoardPage = lazy(() => import("./board/BoardPage"));
const SavedSearchPage = lazy(() => import("./savedsearches/SavedSearchPage"));

function SignedOutRedirect() {
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(() => {
    setSignedOutHandler(() => {
      if (location.pathname.startsWith("/sign")) return;
      const next = encodeURIComponent(location.pathname + location.search);
      navigate(`/signin?next=${next}`, { replace: true });
    });
  }, [navigate, location]);
  return null;
}

export function App() {
  return (
    <>
      <SignedOutRedirect />
      <Suspense fallback={<div className="p-6 text-zinc-600 dark:text-zinc-400">Loading…</div>}>
        <Routes>
          <Route path="/signin" element={<SignInPage />} />
          <Route path="/signup" element={<SignUpPage />} />
          <Route
            element={
              <RequireAuth>
                <AppShell />
              </RequireAuth>
            }
          >
            <Route index element={<Navigate to="/inbox" replace />} />
            <Route path="settings" element={<SettingsPage />} />
            <Route path="stats" element={<StatsPage />} />
            <Route path="projects/:projectId" element={<TaskListPage />} />
            <Route path="projects/:projectId/board" element={<BoardPage />} />
            <Route path="tags/:tag" element={<TaskListPage />} />
            <Route path="search/:searchId" element={<SavedSearchPage />} />
            <Route path=":view" element={<TaskListPage />} />
          </Route>
        </Routes>
      </Suspense>
    </>
  );
}
