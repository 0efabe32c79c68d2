/** Small inline icons; decorative (aria-hidden): the text or aria-label beside them names things. */
const common = {
  width: 16,
  height: 16,
  viewBox: "0 0 24 24",
  fill: "none",
  stroke: "currentColor",
  strokeWidth: 2,
  strokeLinecap: "round" as const,
  strokeLinejoin: "round" as const,
  "aria-hidden": true,
  focusable: false,
};

export const FlagIcon = (props: { className?: string }) => (
  <svg {...common} {...props}>
    <path d="M4 22V4" />
    <path d="M4 4h12l-2 4 2 4H4" />
  </svg>
);
export const RepeatIcon = (props: { className?: string }) => (
  <svg {...common} {...props}>
    <path d="M17 2l4 4-4 4" />
    <path d="M3 11V9a3 3 0 0 1 3-3h15" />
    <path d="M7 22l-4-4 4-4" />
    <path d="M21 13v2a3 3 0 0 1-3 3H3" />
  </svg>
);
export const SubtaskIcon = (props: { className?: string }) => (
  <svg {...common} {...props}>
    <path d="M6 3v12a3 3 0 0 0 3 3h9" />
    <path d="M15 15l3 3-3 3" />
  </svg>
);
export const MenuIcon = (props: { className?: string }) => (
  <svg {...common} {...props}>
    <path d="M3 6h18M3 12h18M3 18h18" />
  </svg>
);
export const SunIcon = (props: { className?: string }) => (
  <svg {...common} {...props}>
    <circle cx="12" cy="12" r="4" />
    <path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" />
  </svg>
);
export const MoonIcon = (props: { className?: string }) => (
  <svg {...common} {...props}>
    <path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z" />
  </svg>
);
export const MonitorIcon = (props: { className?: string }) => (
  <svg {...common} {...props}>
    <rect x="2" y="3" width="20" height="14" rx="2" />
    <path d="M8 21h8M12 17v4" />
  </svg>
);
export const SearchIcon = (props: { className?: string }) => (
  <svg {...common} {...props}>
    <circle cx="11" cy="11" r="7" />
    <path d="M21 21l-4.3-4.3" />
  </svg>
);
