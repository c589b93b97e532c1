// ESLint flat config: typescript-eslint's recommended rules on the TypeScript sources, with
// eslint-config-prettier's role played by Prettier owning all formatting (no stylistic rules here).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      ".scratch-*/**",
      "dist/**",
      "node_modules/**",
      "coverage/**",
      "lake/**",
      "bench/.lakes/**",
      "__tests__/fixtures/consumer/node_modules/**",
      "__tests__/artifacts/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      // Unused names are compile errors already (tsconfig noUnusedLocals/Parameters); `_`-prefixed ones are deliberate.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "always"],
      "no-console": "error",
      "prefer-const": "error",
    },
  },
  {
    // The page script runs in the browser and is plain JavaScript.
    files: ["dashboard/page/**/*.js"],
    languageOptions: {
      globals: {
        window: "readonly",
        document: "readonly",
        fetch: "readonly",
        Chart: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        setInterval: "readonly",
        clearTimeout: "readonly",
        Intl: "readonly",
        CSS: "readonly",
      },
    },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    ignores: ["dashboard/page/**"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        require: "readonly",
        module: "writable",
        process: "readonly",
        __dirname: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
      },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
