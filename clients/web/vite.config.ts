/// <reference types="vitest/config" />
import tailwindcss from '@tailwindcss/vite'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The homeserver serves dist/ at "/" and the Matrix API on the same origin.
// For `npm run dev`, proxy the API to a locally running server.
const devServer = process.env.HOMESERVER_URL ?? 'http://127.0.0.1:8008'

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Keep everything in files: the server's CSP is `default-src 'self'`.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/_matrix': { target: devServer, changeOrigin: true, ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'node',
    watch: false,
    pool: 'threads',
    maxWorkers: 2,
  },
})
