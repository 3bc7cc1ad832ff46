# Writes /etc/shenbao/sync.json for the package: `shenbao-sync config-template`
# with the packaged data folder. Run with -DSYNC=<shenbao-sync> -DOUT=<file>.
execute_process(COMMAND ${SYNC} config-template OUTPUT_VARIABLE text RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${SYNC} config-template failed (${rc})")
endif()
string(REPLACE "\"data_dir\": \"\"" "\"data_dir\": \"/var/lib/shenbao\"" filled "${text}")
if(filled STREQUAL text)
  message(FATAL_ERROR "config-template has no empty data_dir to fill in; update packaging/sync_conffile.cmake")
endif()
file(WRITE ${OUT} "${filled}")
