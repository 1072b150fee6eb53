import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/out/**", "**/assets/**", "tests/interop/node_modules/**"] },
  ...tseslint.configs.recommended,
  {
    // Type-aware rules: each file is checked with its nearest tsconfig.json (the package's, or bench/'s).
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Workers, streams and child processes everywhere: a promise nobody awaits loses its error,
      // and an async callback where a void one is expected (an event handler, forEach) runs unawaited.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
    },
  },
  // Plain JavaScript (the bin launcher, generators) is not in any TypeScript project.
  { files: ["**/*.js", "**/*.mjs", "**/*.cjs"], ...tseslint.configs.disableTypeChecked },
);
