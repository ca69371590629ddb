const { Socket } = require("@supabase/realtime-js");

const REALTIME_URL = process.env.REALTIME_URL || "http://localhost:4000/socket";
const socket = new Socket(REALTIME_URL);

// Connect to the realtime server
socket.connect();

// setup a listener to the enture 'public' database schema
const SchemaListener = socket.channel("realtime:public");
SchemaListener.join()
  .receive("ok", () => console.log("SchemaListener connected "))
  .receive("error", () => console.log("Failed"))
  .receive("timeout", () => console.log("Waiting..."));

SchemaListener.on("*", (change) => {
  console.log("DATA UPDATE", change.record);
});
