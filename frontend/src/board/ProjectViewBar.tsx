import { useParams } from "react-router-dom";
import { ViewSwitch } from "./ViewSwitch";

/** Above a project's list: the way to its board (the list page's own header stays as it is). */
export function ProjectViewBar() {
  const { projectId } = useParams();
  if (!projectId) return null;
  return (
    <div className="flex justify-end px-4 pt-3">
      <ViewSwitch projectId={projectId} />
    </div>
  );
}
