// typescript-eslint's type-checked recommendations over kc's source, tests and benchmark.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Actions and fakes implement Promise-returning interfaces; some need no await, and that is fine.
      // A forgotten await is still caught, by no-floating-promises and no-misused-promises.
      '@typescript-eslint/require-await': 'off',
      // `_name` marks what is left out on purpose (destructuring away a field).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // Parallel work on nodes, networks and engines goes through src/util/concurrent.ts (kind's AggregateConcurrent):
    // Promise.all stops waiting at the first failure while the siblings go on unseen, and tells one failure of several.
    files: ['src/cluster/**/*.ts', 'src/provider/**/*.ts', 'src/cli/**/*.ts', 'src/state/**/*.ts', 'src/conformance/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Promise'][callee.property.name=/^(all|allSettled|any|race)$/]",
          message:
            'Parallel work that changes or reads nodes goes through concurrently() or awaitAll() (src/util/concurrent.ts): every sibling is awaited and every failure reported, where Promise.all stops at the first.',
        },
      ],
    },
  },
  {
    // vitest's asymmetric matchers (expect.stringMatching, ...) are typed `any`.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['eslint.config.js', '.dependency-cruiser.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
